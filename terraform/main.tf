data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Names shared with k8s/ and docker/ (test/infra checks them): buckets, repository, images.
  blobs_bucket  = "${var.project_id}-imagen-blobs"
  models_bucket = "${var.project_id}-imagen-models"
  # Source uploads of `make cloud-build` (gcloud builds submit --gcs-source-staging-dir).
  build_bucket  = "${var.project_id}-imagen-build"
  repository_id = "imagen"
  registry      = "${var.region}-docker.pkg.dev/${var.project_id}/${local.repository_id}"
  # No API image exists before the first build, so the first apply starts Cloud Run on Google's
  # public placeholder (it answers every path, the probes' too); Cloud Build then deploys
  # api:<commit>, and the image is ignored by later applies (lifecycle below).
  api_placeholder_image = "us-docker.pkg.dev/cloudrun/container/placeholder"
  api_image             = var.api_image_tag == "" ? local.api_placeholder_image : "${local.registry}/api:${var.api_image_tag}"
  k8s_namespace         = "imagen"
  k8s_worker_ksa        = "imagen-worker"
}

# `make tf-init` enables Service Usage and Cloud Resource Manager first: Terraform needs them to read
# the project and enable the rest.
resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    # The cluster enforces Binary Authorization (modules/gke); GKE refuses it with the API off.
    "binaryauthorization.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}

resource "google_artifact_registry_repository" "images" {
  # checkov:skip=CKV_GCP_84: Google-managed encryption; images hold no secrets or user data, and a CMEK key would add a KMS key lifecycle this project does not need.
  location      = var.region
  repository_id = local.repository_id
  format        = "DOCKER"
  description   = "Imagen images: api and worker, tagged with the commit's short SHA."

  # A tag, once pushed, always names the same image, so a SHA tag is as good as a digest.
  docker_config {
    immutable_tags = true
  }

  # Images older than 30 days are deleted, except the 20 newest of each image (KEEP wins over
  # DELETE): a rollback can go back 20 builds, and the repository does not grow without bound.
  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.apis]
}

module "pubsub" {
  source = "./modules/pubsub"

  project_number        = data.google_project.this.number
  ops                   = var.ops
  topic_prefix          = var.pubsub_topic_prefix
  ack_deadline_seconds  = var.queue_lease_ms / 1000
  minimum_backoff       = "${var.queue_backoff_base_ms / 1000}s"
  maximum_backoff       = "${var.queue_backoff_max_ms / 1000}s"
  max_delivery_attempts = var.queue_max_attempts

  depends_on = [google_project_service.apis]
}

module "storage" {
  source = "./modules/storage"

  region              = var.region
  blobs_bucket        = local.blobs_bucket
  models_bucket       = local.models_bucket
  build_bucket        = local.build_bucket
  job_ttl_days        = var.job_ttl_days
  cors_origins        = var.cors_origins
  deletion_protection = var.deletion_protection

  depends_on = [google_project_service.apis]
}

module "firestore" {
  source = "./modules/firestore"

  location            = var.firestore_location
  collection          = "jobs"
  deletion_protection = var.deletion_protection

  depends_on = [google_project_service.apis]
}

module "gke" {
  source = "./modules/gke"

  name                    = var.cluster_name
  region                  = var.region
  project_id              = var.project_id
  master_authorized_cidrs = var.master_authorized_cidrs
  deletion_protection     = var.deletion_protection

  depends_on = [google_project_service.apis]
}

module "iam" {
  source = "./modules/iam"

  project_id                 = var.project_id
  project_number             = data.google_project.this.number
  workload_pool              = module.gke.workload_pool
  k8s_namespace              = local.k8s_namespace
  k8s_worker_service_account = local.k8s_worker_ksa
  topics                     = module.pubsub.topics
  worker_subscriptions       = module.pubsub.worker_subscriptions
  dead_letter_topics         = module.pubsub.dead_letter_topics
  dead_letter_subscriptions  = module.pubsub.dead_letter_subscriptions
  blobs_bucket               = module.storage.blobs_bucket
  models_bucket              = module.storage.models_bucket
  build_bucket               = module.storage.build_bucket
  repository                 = google_artifact_registry_repository.images
  node_service_account       = module.gke.node_service_account
  enable_keda                = var.enable_keda
}

resource "google_cloud_run_v2_service" "api" {
  name                = "imagen-api"
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = var.deletion_protection

  template {
    service_account                  = module.iam.api_service_account_email
    timeout                          = "300s"
    max_instance_request_concurrency = 20

    scaling {
      min_instance_count = var.api_min_instances
      max_instance_count = var.api_max_instances
    }

    # The API keys file (terraform/api-keys.tf); Cloud Run reads the latest version at each start.
    volumes {
      name = "api-keys"
      secret {
        secret = google_secret_manager_secret.api_keys.secret_id
        items {
          version = "latest"
          path    = "api-keys"
        }
      }
    }

    # No `command`: the image's entrypoint (tini, then node apps/api/dist/main.js) runs, and the
    # placeholder image of the first apply can start too.
    containers {
      image = local.api_image

      # Cloud Run sets PORT from this (8080, the code's default too).
      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "2"
          memory = "2Gi"
        }
      }

      volume_mounts {
        name       = "api-keys"
        mount_path = "/secrets/imagen"
      }

      dynamic "env" {
        for_each = {
          HOST                        = "0.0.0.0"
          IMAGEN_API_KEYS_FILE        = "/secrets/imagen/api-keys"
          IMAGEN_BACKEND              = "gcp"
          GCP_PROJECT_ID              = var.project_id
          GCS_BUCKET                  = local.blobs_bucket
          PUBSUB_TOPIC_PREFIX         = var.pubsub_topic_prefix
          FIRESTORE_DATABASE_ID       = module.firestore.database_id
          FIRESTORE_COLLECTION        = module.firestore.collection
          JOB_TTL_DAYS                = tostring(var.job_ttl_days)
          IMAGEN_GCP_CREATE_RESOURCES = "false"
          IMAGEN_EMBEDDED_WORKER      = "false"
          QUEUE_LEASE_MS              = tostring(var.queue_lease_ms)
          QUEUE_MAX_ATTEMPTS          = tostring(var.queue_max_attempts)
          QUEUE_BACKOFF_BASE_MS       = tostring(var.queue_backoff_base_ms)
          QUEUE_BACKOFF_MAX_MS        = tostring(var.queue_backoff_max_ms)
          LOG_LEVEL                   = "info"
        }
        content {
          name  = env.key
          value = env.value
        }
      }

      startup_probe {
        http_get {
          path = "/readyz"
          port = 8080
        }
        period_seconds    = 5
        failure_threshold = 24
      }

      liveness_probe {
        http_get {
          path = "/healthz"
          port = 8080
        }
        period_seconds = 30
      }
    }
  }

  # Cloud Build rolls out new images (`gcloud run deploy --image ...:$SHORT_SHA`); Terraform keeps
  # the rest of the service and does not roll the image back on the next apply.
  lifecycle {
    ignore_changes = [template[0].containers[0].image, client, client_version]
  }

  # A revision starts only once its service account can read a version of the keys.
  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_iam_member.api_keys_accessor,
    google_secret_manager_secret_version.api_keys_bootstrap,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "public" {
  count    = var.api_allow_unauthenticated ? 1 : 0
  name     = google_cloud_run_v2_service.api.name
  location = google_cloud_run_v2_service.api.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}
