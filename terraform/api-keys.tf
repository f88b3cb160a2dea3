# The API's keys (IMAGEN_API_KEYS_FILE): one `name:sha256:<hex>` (or `name:secret`) entry a line,
# mounted into Cloud Run as a file. Terraform makes the secret and a first version that admits no one,
# never a real key: add the keys as a new version by hand (docs/deploy.md, step 3), so no key lands
# in Terraform state. The API refuses to start on an empty file.
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

# Cloud Run cannot start a revision on a secret without a version, and the secret is made by this same
# apply, so it gets one: a single entry whose hash no secret has (all zeros), which the API accepts
# and which matches no presented key. The operator's version, added later, becomes "latest".
resource "google_secret_manager_secret_version" "api_keys_bootstrap" {
  secret      = google_secret_manager_secret.api_keys.id
  secret_data = <<-EOT
    # Placeholder from Terraform: admits no one. Add the real keys as a new version (docs/deploy.md, step 3).
    bootstrap-placeholder:sha256:0000000000000000000000000000000000000000000000000000000000000000
  EOT

  # Disable it by hand once real keys exist if you like (Terraform ignores `enabled`); don't destroy
  # it, or the next apply adds a new placeholder version, which would become "latest".
  lifecycle {
    ignore_changes = [enabled, secret_data]
  }
}
