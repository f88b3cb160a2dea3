# Per op: topic <prefix>-<op>, worker subscription <prefix>-<op>-worker (retry policy, dead-letter
# policy), dead-letter topic <prefix>-<op>-dead-letter and its subscription <prefix>-<op>-dead-letter-sub,
# which the workers consume to mark dead-lettered jobs failed. The Pub/Sub service agent gets the two grants
# dead-lettering needs: publish to the dead-letter topic, and subscribe (ack) on the source.

locals {
  ops           = toset(var.ops)
  service_agent = "serviceAccount:service-${var.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic" "op" {
  # checkov:skip=CKV_GCP_83: Google-managed encryption; messages carry only a job id, never image data or user fields.
  for_each                   = local.ops
  name                       = "${var.topic_prefix}-${each.key}"
  message_retention_duration = "86400s"
}

resource "google_pubsub_topic" "dead_letter" {
  # checkov:skip=CKV_GCP_83: Google-managed encryption; messages carry only a job id, never image data or user fields.
  for_each = local.ops
  name     = "${var.topic_prefix}-${each.key}-dead-letter"
}

resource "google_pubsub_subscription" "worker" {
  for_each = local.ops
  name     = "${var.topic_prefix}-${each.key}-worker"
  topic    = google_pubsub_topic.op[each.key].id

  # The worker extends the lease while a job runs; this is how long a dead worker holds a message.
  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = "604800s"

  retry_policy {
    minimum_backoff = var.minimum_backoff
    maximum_backoff = var.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.key].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # Never delete an idle subscription (the default is after 31 days without subscribers).
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "dead_letter" {
  for_each                   = local.ops
  name                       = "${var.topic_prefix}-${each.key}-dead-letter-sub"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.ops
  topic    = google_pubsub_topic.dead_letter[each.key].id
  role     = "roles/pubsub.publisher"
  member   = local.service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = local.ops
  subscription = google_pubsub_subscription.worker[each.key].id
  role         = "roles/pubsub.subscriber"
  member       = local.service_agent
}
