output "name" {
  description = "Cluster name."
  value       = google_container_cluster.this.name
}

output "workload_pool" {
  description = "Workload Identity pool: <project>.svc.id.goog."
  value       = google_container_cluster.this.workload_identity_config[0].workload_pool
}

output "node_service_account" {
  description = "The nodes' service account (pulls the worker image)."
  value       = google_service_account.nodes
}
