output "blobs_bucket" {
  description = "The blobs bucket."
  value       = google_storage_bucket.blobs
}

output "models_bucket" {
  description = "The models bucket."
  value       = google_storage_bucket.models
}

output "build_bucket" {
  description = "The Cloud Build source staging bucket."
  value       = google_storage_bucket.build
}
