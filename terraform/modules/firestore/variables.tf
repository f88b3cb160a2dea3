variable "location" {
  description = "Firestore location (region or multi-region)."
  type        = string
}

variable "collection" {
  description = "FIRESTORE_COLLECTION: the jobs collection."
  type        = string
}

variable "deletion_protection" {
  description = "Delete protection and point-in-time recovery on the database."
  type        = bool
}
