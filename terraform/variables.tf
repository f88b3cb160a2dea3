variable "project_id" {
  description = "The Google Cloud project everything is created in (one project per environment)."
  type        = string
}

variable "environment" {
  description = "dev or prod; labels resources and picks safe defaults."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "cluster_name" {
  description = "Name of the GKE cluster, its network and subnet; the Makefile's CLUSTER and cloudbuild.yaml's _GKE_CLUSTER default to the same name."
  type        = string
  default     = "imagen-cluster"
}

variable "region" {
  description = "Region for GKE, Cloud Run, Artifact Registry and the buckets; needs NVIDIA L4 capacity."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Firestore location: a region, or a multi-region such as nam5 for higher availability."
  type        = string
  default     = "us-central1"
}

variable "ops" {
  description = "The operations; each gets a topic, a worker subscription and a dead-letter pair."
  type        = list(string)
  default     = ["upscale", "enhance", "comic", "background-removal"]
}

variable "pubsub_topic_prefix" {
  description = "PUBSUB_TOPIC_PREFIX of the code: topic <prefix>-<op>, subscription <prefix>-<op>-worker."
  type        = string
  default     = "imagen"
}

# Queue timing: the same values as k8s/base/configmap.yaml (test/infra checks they agree).

variable "queue_lease_ms" {
  description = "QUEUE_LEASE_MS: the subscription's ack deadline (Pub/Sub allows 10..600 s)."
  type        = number
  default     = 60000

  validation {
    condition     = var.queue_lease_ms >= 10000 && var.queue_lease_ms <= 600000 && var.queue_lease_ms % 1000 == 0
    error_message = "queue_lease_ms must be whole seconds within 10..600 s."
  }
}

variable "queue_max_attempts" {
  description = "QUEUE_MAX_ATTEMPTS: deliveries before a message goes to the dead-letter topic (5..100)."
  type        = number
  default     = 5

  validation {
    condition     = var.queue_max_attempts >= 5 && var.queue_max_attempts <= 100
    error_message = "queue_max_attempts must be within 5..100 (Pub/Sub's dead-letter limits)."
  }
}

variable "queue_backoff_base_ms" {
  description = "QUEUE_BACKOFF_BASE_MS: the retry policy's minimum backoff (at least 10 s in GCP)."
  type        = number
  default     = 10000

  validation {
    condition     = var.queue_backoff_base_ms >= 10000 && var.queue_backoff_base_ms <= 600000
    error_message = "queue_backoff_base_ms must be within 10..600 s."
  }
}

variable "queue_backoff_max_ms" {
  description = "QUEUE_BACKOFF_MAX_MS: the retry policy's maximum backoff (at most 600 s)."
  type        = number
  default     = 600000

  validation {
    condition     = var.queue_backoff_max_ms >= 10000 && var.queue_backoff_max_ms <= 600000
    error_message = "queue_backoff_max_ms must be within 10..600 s."
  }
}

variable "job_ttl_days" {
  description = "JOB_TTL_DAYS: Firestore deletes a job this long after creation (expireAt); blobs expire too."
  type        = number
  default     = 7
}

variable "cors_origins" {
  description = "Browser origins allowed to PUT to signed upload URLs and GET results from the bucket."
  type        = list(string)
}

variable "api_image_tag" {
  description = "Tag of the API image Cloud Run starts with when it is created; empty: Google's placeholder image until Cloud Build (or make deploy-api) deploys api:<commit>. Later applies never change the image."
  type        = string
  default     = ""
}

variable "api_min_instances" {
  description = "Cloud Run minimum instances: 0 scales to zero (cold starts), 1+ keeps the API warm."
  type        = number
  default     = 0
}

variable "api_max_instances" {
  description = "Cloud Run maximum instances."
  type        = number
  default     = 10
}

variable "api_allow_unauthenticated" {
  description = "Grant roles/run.invoker to allUsers (a public API). Off: callers need an identity token."
  type        = bool
  default     = false
}

variable "master_authorized_cidrs" {
  description = "CIDR blocks allowed to reach the GKE control plane (kubectl, Cloud Build private pools)."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "Protect the cluster, the Firestore database and the buckets against terraform destroy."
  type        = bool
  default     = true
}

variable "enable_keda" {
  description = "Let KEDA's operator (keda/keda-operator) read Cloud Monitoring: k8s/autoscaling/keda."
  type        = bool
  default     = false
}
