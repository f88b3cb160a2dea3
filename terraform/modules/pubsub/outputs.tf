output "topics" {
  description = "Topic per op."
  value       = google_pubsub_topic.op
}

output "dead_letter_topics" {
  description = "Dead-letter topic per op."
  value       = google_pubsub_topic.dead_letter
}

output "worker_subscriptions" {
  description = "Worker subscription per op."
  value       = google_pubsub_subscription.worker
}

output "dead_letter_subscriptions" {
  description = "Dead-letter subscription per op."
  value       = google_pubsub_subscription.dead_letter
}

output "names" {
  description = "Names per op."
  value = {
    for op in var.ops : op => {
      topic                    = google_pubsub_topic.op[op].name
      subscription             = google_pubsub_subscription.worker[op].name
      dead_letter_topic        = google_pubsub_topic.dead_letter[op].name
      dead_letter_subscription = google_pubsub_subscription.dead_letter[op].name
    }
  }
}
