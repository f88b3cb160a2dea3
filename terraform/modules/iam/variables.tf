variable "project_id" {
  description = "Project id."
  type        = string
}

variable "project_number" {
  description = "Project number, for Workload Identity Federation principals."
  type        = string
}

variable "workload_pool" {
  description = "The cluster's Workload Identity pool."
  type        = string
}

variable "k8s_namespace" {
  description = "Namespace of the workers."
  type        = string
}

variable "k8s_worker_service_account" {
  description = "Kubernetes service account of the workers (k8s/base/serviceaccount.yaml)."
  type        = string
}

variable "topics" {
  description = "Job topics, by op."
  type        = map(object({ id = string }))
}

variable "worker_subscriptions" {
  description = "Worker subscriptions, by op."
  type        = map(object({ id = string }))
}

variable "dead_letter_subscriptions" {
  description = "Dead-letter subscriptions, by op."
  type        = map(object({ id = string }))
}

variable "dead_letter_topics" {
  description = "Dead-letter topics, by op."
  type        = map(object({ id = string }))
}

variable "blobs_bucket" {
  description = "The blobs bucket."
  type        = object({ name = string })
}

variable "models_bucket" {
  description = "The models bucket."
  type        = object({ name = string })
}

variable "build_bucket" {
  description = "The Cloud Build source staging bucket."
  type        = object({ name = string })
}

variable "node_service_account" {
  description = "The GKE nodes' service account."
  type        = object({ member = string })
}

variable "repository" {
  description = "The Artifact Registry repository."
  type        = object({ location = string, name = string })
}

variable "enable_keda" {
  description = "Also let keda/keda-operator read Cloud Monitoring."
  type        = bool
}
