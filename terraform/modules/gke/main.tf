# GKE Autopilot: Google manages nodes, including GPU nodes provisioned on demand from the workers'
# `cloud.google.com/gke-accelerator` selector. Workload Identity is always on in Autopilot (pool
# <project>.svc.id.goog). Nodes are private; Private Google Access on the subnet reaches Pub/Sub,
# Firestore, Cloud Storage and Artifact Registry without a NAT.

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

  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  resource_labels = {
    app = "imagen"
  }
}
