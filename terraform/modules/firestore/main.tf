# The jobs database: one document per job in `jobs`, deleted by the TTL policy at `expireAt`
# (JOB_TTL_DAYS after creation). `GET /v1/jobs` filters on status, op and owner and orders by
# createdAtMs then document id, newest first: one composite index per filter combination.

resource "google_firestore_database" "this" {
  name                              = "(default)"
  location_id                       = var.location
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "OPTIMISTIC"
  point_in_time_recovery_enablement = var.deletion_protection ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"
}

resource "google_firestore_field" "expire_at" {
  database   = google_firestore_database.this.name
  collection = var.collection
  field      = "expireAt"

  ttl_config {}

  # No single-field index on a TTL timestamp: nothing queries it, and it would hot-spot writes.
  index_config {}
}

# Idempotency records (one per API key and Idempotency-Key), kept 24 h.
resource "google_firestore_field" "idempotency_expire_at" {
  database   = google_firestore_database.this.name
  collection = "${var.collection}-idempotency"
  field      = "expireAt"

  ttl_config {}

  index_config {}
}

# Every filter `GET /v1/jobs` can combine; `owner` is set whenever API keys are on.
locals {
  list_indexes = {
    status          = ["status"]
    op              = ["op"]
    status-op       = ["status", "op"]
    owner           = ["owner"]
    owner-status    = ["owner", "status"]
    owner-op        = ["owner", "op"]
    owner-status-op = ["owner", "status", "op"]
  }
}

resource "google_firestore_index" "list" {
  for_each   = local.list_indexes
  database   = google_firestore_database.this.name
  collection = var.collection

  dynamic "fields" {
    for_each = each.value
    content {
      field_path = fields.value
      order      = "ASCENDING"
    }
  }

  fields {
    field_path = "createdAtMs"
    order      = "DESCENDING"
  }

  fields {
    field_path = "__name__"
    order      = "DESCENDING"
  }
}
