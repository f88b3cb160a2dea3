# GKE Autopilot: Google manages nodes, including GPU nodes provisioned on demand from the workers'
# `cloud.google.com/gke-accelerator` selector. Workload Identity is always on in Autopilot (pool
# <project>.svc.id.goog). Nodes are private: Private Google Access on the subnet reaches Pub/Sub,
# Firestore, Cloud Storage and Artifact Registry, and Cloud NAT reaches everything else (webhook
# receivers, and images outside Google's registries such as KEDA's).

resource "google_compute_network" "this" {
  name                    = var.name
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "this" {
  name                     = var.name
  network                  = google_compute_network.this.id
  region                   = var.region
  ip_cidr_range            = "10.10.0.0/20"
  private_ip_google_access = true

  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = "10.20.0.0/14"
  }

  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = "10.30.0.0/20"
  }

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Nothing reaches the nodes from outside but what GKE's own rules allow (they have higher priority).
resource "google_compute_firewall" "deny_ingress" {
  name      = "${var.name}-deny-ingress"
  network   = google_compute_network.this.id
  direction = "INGRESS"
  priority  = 65534

  deny {
    protocol = "all"
  }

  source_ranges = ["0.0.0.0/0"]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# Outbound internet for the private nodes. Without it a pod can reach Google APIs only.
resource "google_compute_router" "this" {
  name    = var.name
  network = google_compute_network.this.id
  region  = var.region
}

resource "google_compute_router_nat" "this" {
  name                               = var.name
  router                             = google_compute_router.this.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# The nodes' own identity, instead of the default Compute Engine account: that one may not exist yet
# right after the Compute API is enabled (the first apply), and often holds Editor.
resource "google_service_account" "nodes" {
  account_id   = "imagen-nodes"
  display_name = "Imagen GKE nodes"
}

resource "google_project_iam_member" "nodes" {
  project = var.project_id
  role    = "roles/container.defaultNodeServiceAccount"
  member  = google_service_account.nodes.member
}

resource "google_container_cluster" "this" {
  # checkov:skip=CKV_GCP_12: Autopilot always runs GKE Dataplane V2, which enforces NetworkPolicy (k8s/base/network-policy.yaml); the network_policy block is not settable on Autopilot.
  # checkov:skip=CKV_GCP_61: Autopilot manages node networking and intranode visibility; VPC flow logs are on at the subnet (log_config).
  # checkov:skip=CKV_GCP_69: Autopilot always runs the GKE metadata server (Workload Identity); node_config is not settable on Autopilot.
  # checkov:skip=CKV_GCP_65: Google Groups for RBAC needs a Google Workspace domain this project does not assume; access is granted by IAM roles.
  name                = var.name
  location            = var.region
  enable_autopilot    = true
  network             = google_compute_network.this.id
  subnetwork          = google_compute_subnetwork.this.id
  deletion_protection = var.deletion_protection

  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  release_channel {
    channel = "REGULAR"
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_cidrs
      content {
        cidr_block   = cidr_blocks.value
        display_name = "authorized-${cidr_blocks.key}"
      }
    }
  }

  # Managed Prometheus scrapes the workers' PodMonitoring and evaluates k8s/workers/alert-rules.yaml.
  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS"]
    managed_prometheus {
      enabled = true
    }
  }

  # Nodes run as imagen-nodes (Autopilot takes it from the auto-provisioning defaults).
  cluster_autoscaling {
    auto_provisioning_defaults {
      service_account = google_service_account.nodes.email
    }
  }

  # Needs binaryauthorization.googleapis.com (enabled in ../../main.tf); with no policy of the
  # project's own, the default policy admits every image.
  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  resource_labels = {
    app = "imagen"
  }

  depends_on = [google_project_iam_member.nodes]
}
