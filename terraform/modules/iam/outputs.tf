output "api_service_account_email" {
  description = "The API's service account."
  value       = google_service_account.api.email
}

output "worker_service_account_email" {
  description = "The workers' service account (Workload Identity from imagen/imagen-worker)."
  value       = google_service_account.worker.email
}

output "deployer_service_account_email" {
  description = "Service account for the Cloud Build trigger."
  value       = google_service_account.deployer.email
}
