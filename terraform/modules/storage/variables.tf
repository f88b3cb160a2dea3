variable "region" {
  description = "Bucket location."
  type        = string
}

variable "blobs_bucket" {
  description = "Name of the job blobs bucket (GCS_BUCKET)."
  type        = string
}

variable "models_bucket" {
  description = "Name of the model files bucket."
  type        = string
}

variable "build_bucket" {
  description = "Name of the bucket Cloud Build source uploads are staged in."
  type        = string
}

variable "job_ttl_days" {
  description = "Days after which inputs and outputs are deleted."
  type        = number
}

variable "cors_origins" {
  description = "Origins allowed by the CORS policy."
  type        = list(string)
}

variable "deletion_protection" {
  description = "When false, terraform destroy also deletes the objects."
  type        = bool
}
