# Least-privilege identities. Grants are on the single resources each identity uses (topics,
# subscriptions, buckets) wherever the service supports it; Firestore has no per-collection IAM,
# so both runtimes get roles/datastore.user on the project.

resource "google_service_account" "api" {
  account_id   = "imagen-api"
  display_name = "Imagen API (Cloud Run)"
}

resource "google_service_account" "worker" {
  account_id   = "imagen-worker"
  display_name = "Imagen workers (GKE, Workload Identity)"
}

resource "google_service_account" "deployer" {
  account_id   = "imagen-deployer"
  display_name = "Imagen Cloud Build: builds, pushes and deploys"
}

# --- API: publish jobs, read and write blobs, sign URLs, jobs in Firestore.

resource "google_pubsub_topic_iam_member" "api_publisher" {
  for_each = var.topics
  topic    = each.value.id
  role     = "roles/pubsub.publisher"
  member   = google_service_account.api.member
}

# Readiness (GET /readyz) reads each topic's metadata, which the publisher role does not allow.
resource "google_pubsub_topic_iam_member" "api_topic_viewer" {
  for_each = var.topics
  topic    = each.value.id
  role     = "roles/pubsub.viewer"
  member   = google_service_account.api.member
}

resource "google_storage_bucket_iam_member" "api_blobs" {
  bucket = var.blobs_bucket.name
  role   = "roles/storage.objectUser"
  member = google_service_account.api.member
}

# Signed URLs without a key file: the API signs with IAM signBlob as itself.
resource "google_service_account_iam_member" "api_sign_blob" {
  service_account_id = google_service_account.api.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.api.member
}

resource "google_project_iam_member" "api_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.api.member
}

# --- Worker: consume its job and dead-letter subscriptions, dead-letter (the adapter publishes to the
# dead-letter topic itself at QUEUE_MAX_ATTEMPTS), read models, read inputs and write outputs, jobs in
# Firestore.

locals {
  # Both subscriptions of each op; viewer lets the worker's readiness check read their metadata.
  worker_consumed_subscriptions = merge(
    { for op, subscription in var.worker_subscriptions : "${op}-worker" => subscription },
    { for op, subscription in var.dead_letter_subscriptions : "${op}-dead-letter" => subscription },
  )
}

resource "google_pubsub_subscription_iam_member" "worker_subscriber" {
  for_each     = local.worker_consumed_subscriptions
  subscription = each.value.id
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.worker.member
}

resource "google_pubsub_subscription_iam_member" "worker_viewer" {
  for_each     = local.worker_consumed_subscriptions
  subscription = each.value.id
  role         = "roles/pubsub.viewer"
  member       = google_service_account.worker.member
}

resource "google_pubsub_topic_iam_member" "worker_dead_letter" {
  for_each = var.dead_letter_topics
  topic    = each.value.id
  role     = "roles/pubsub.publisher"
  member   = google_service_account.worker.member
}

resource "google_storage_bucket_iam_member" "worker_blobs" {
  bucket = var.blobs_bucket.name
  role   = "roles/storage.objectUser"
  member = google_service_account.worker.member
}

resource "google_storage_bucket_iam_member" "worker_models" {
  bucket = var.models_bucket.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.worker.member
}

resource "google_project_iam_member" "worker_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.worker.member
}

# Workload Identity: the Kubernetes service account imagen/imagen-worker acts as the worker GSA.
resource "google_service_account_iam_member" "worker_workload_identity" {
  service_account_id = google_service_account.worker.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.workload_pool}[${var.k8s_namespace}/${var.k8s_worker_service_account}]"
}

# --- Autoscaling: the metrics adapter (and KEDA, optional) read Pub/Sub backlog from Cloud
# Monitoring as their Kubernetes identities (Workload Identity Federation, no GSA).

locals {
  wi_principal = "principal://iam.googleapis.com/projects/${var.project_number}/locations/global/workloadIdentityPools/${var.workload_pool}/subject"
  metric_readers = merge(
    { adapter = "${local.wi_principal}/ns/custom-metrics/sa/custom-metrics-stackdriver-adapter" },
    var.enable_keda ? { keda = "${local.wi_principal}/ns/keda/sa/keda-operator" } : {},
  )
}

resource "google_project_iam_member" "metric_readers" {
  for_each = local.metric_readers
  project  = var.project_id
  role     = "roles/monitoring.viewer"
  member   = each.value
}

# --- Cloud Build: push images, deploy the API to Cloud Run (as the API SA), roll the workers on GKE.

resource "google_artifact_registry_repository_iam_member" "deployer_push" {
  location   = var.repository.location
  repository = var.repository.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.deployer.member
}

resource "google_project_iam_member" "deployer" {
  for_each = toset(["roles/run.developer", "roles/container.developer", "roles/logging.logWriter"])
  project  = var.project_id
  role     = each.value
  member   = google_service_account.deployer.member
}

resource "google_service_account_iam_member" "deployer_acts_as_api" {
  service_account_id = google_service_account.api.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deployer.member
}

# `make cloud-build` stages the source here and runs the build as the deployer, which must read it.
resource "google_storage_bucket_iam_member" "deployer_build_source" {
  bucket = var.build_bucket.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.deployer.member
}

# GKE nodes pull worker images as their own service account (modules/gke).
resource "google_artifact_registry_repository_iam_member" "nodes_pull" {
  location   = var.repository.location
  repository = var.repository.name
  role       = "roles/artifactregistry.reader"
  member     = var.node_service_account.member
}
