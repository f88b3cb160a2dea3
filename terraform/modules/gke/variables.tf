variable "name" {
  description = "Cluster, network and subnet name."
  type        = string
}

variable "region" {
  description = "Cluster region (Autopilot clusters are regional)."
  type        = string
}

variable "project_id" {
  description = "Project id, for the Workload Identity pool."
  type        = string
}

variable "master_authorized_cidrs" {
  description = "CIDR blocks allowed to reach the control plane."
  type        = list(string)
}

variable "deletion_protection" {
  description = "Refuse terraform destroy of the cluster."
  type        = bool
}
