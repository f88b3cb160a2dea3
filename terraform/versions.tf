terraform {
  required_version = ">= 1.8.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "= 6.14.1"
    }
  }

  # State in a GCS bucket created once by hand (docs/deploy.md, step 2):
  #   terraform init -backend-config="bucket=<project>-imagen-tfstate" -backend-config="prefix=<env>"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app         = "imagen"
    environment = var.environment
    managed-by  = "terraform"
  }
}
