output "api_url" {
  description = "The API's Cloud Run URL."
  value       = google_cloud_run_v2_service.api.uri
}

output "api_keys_secret" {
  description = "Secret Manager secret of the API keys file: gcloud secrets versions add <id> --data-file=<keys file>."
  value       = google_secret_manager_secret.api_keys.secret_id
}

output "registry" {
  description = "Artifact Registry path; images are <registry>/api and <registry>/worker."
  value       = local.registry
}

output "gke_cluster" {
  description = "GKE cluster name and region: gcloud container clusters get-credentials <name> --region <region>."
  value       = { name = module.gke.name, region = var.region }
}

output "blobs_bucket" {
  description = "GCS_BUCKET: inputs/, outputs/, uploads/."
  value       = module.storage.blobs_bucket.name
}

output "models_bucket" {
  description = "Model files, synced into each worker pod's model cache at start (make models-push)."
  value       = module.storage.models_bucket.name
}

output "pubsub" {
  description = "Per op: topic, worker subscription, dead-letter topic and subscription."
  value       = module.pubsub.names
}

output "service_accounts" {
  description = "Google service accounts: API (Cloud Run), worker (GKE, Workload Identity), deployer (Cloud Build)."
  value = {
    api      = module.iam.api_service_account_email
    worker   = module.iam.worker_service_account_email
    deployer = module.iam.deployer_service_account_email
  }
}
