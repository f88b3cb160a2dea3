# The API's keys (IMAGEN_API_KEYS_FILE): one `name:sha256:<hex>` (or `name:secret`) entry a line,
# mounted into Cloud Run as a file. Terraform makes the secret, never its value: add a version by
# hand (docs/deploy.md), so no key lands in Terraform state. The API refuses to start on an empty file.
resource "google_secret_manager_secret" "api_keys" {
  secret_id = "imagen-api-keys"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "api_keys_accessor" {
  secret_id = google_secret_manager_secret.api_keys.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${module.iam.api_service_account_email}"
}
