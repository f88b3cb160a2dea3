output "database_id" {
  description = "FIRESTORE_DATABASE_ID."
  value       = google_firestore_database.this.name
}

output "collection" {
  description = "FIRESTORE_COLLECTION."
  value       = var.collection
}
