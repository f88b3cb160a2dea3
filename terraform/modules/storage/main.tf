# The blobs bucket (GCS_BUCKET): inputs/<jobId>, outputs/<jobId>.<ext>, uploads/ for two-phase signed
# PUT uploads. Everything in it is temporary: each prefix expires by lifecycle rule, in step with the
# job records' Firestore TTL. The models bucket holds the ONNX files the workers sync at start.

resource "google_storage_bucket" "blobs" {
  # checkov:skip=CKV_GCP_62: access is recorded by Cloud Audit Logs (enable Data Access logs for storage.googleapis.com where required); usage-log buckets would duplicate it.
  # checkov:skip=CKV_GCP_78: objects are temporary job data deleted by lifecycle rules; versioning would keep every deleted input and overwritten output.
  name                        = var.blobs_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection

  lifecycle_rule {
    condition {
      age            = var.job_ttl_days
      matches_prefix = ["inputs/", "outputs/"]
    }
    action {
      type = "Delete"
    }
  }

  # An upload URL lives minutes; what was never turned into a job goes after a day.
  lifecycle_rule {
    condition {
      age            = 1
      matches_prefix = ["uploads/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  # Browsers PUT to signed upload URLs and GET signed result URLs directly.
  cors {
    origin          = var.cors_origins
    method          = ["PUT", "GET", "HEAD"]
    response_header = ["Content-Type", "Content-Length", "x-goog-content-length-range"]
    max_age_seconds = 3600
  }
}

resource "google_storage_bucket" "models" {
  # checkov:skip=CKV_GCP_62: access is recorded by Cloud Audit Logs; the bucket holds public pretrained models only.
  name                        = var.models_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection

  # A replaced model file stays recoverable.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 3
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}

# Source archives that `make cloud-build` uploads for Cloud Build (the deployer account reads them);
# each build needs its own only while it runs.
resource "google_storage_bucket" "build" {
  # checkov:skip=CKV_GCP_62: access is recorded by Cloud Audit Logs; the bucket holds copies of the repository's source only.
  # checkov:skip=CKV_GCP_78: each object is a one-off build input deleted after a week; versioning would keep deleted ones.
  name                        = var.build_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  lifecycle_rule {
    condition {
      age = 7
    }
    action {
      type = "Delete"
    }
  }
}
