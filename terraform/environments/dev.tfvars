# terraform plan -var-file=environments/dev.tfvars -var="project_id=<dev project>"
environment               = "dev"
region                    = "us-central1"
firestore_location        = "us-central1"
cors_origins              = ["http://localhost:8080"]
api_min_instances         = 0
api_max_instances         = 3
api_allow_unauthenticated = true
master_authorized_cidrs   = ["0.0.0.0/0"]
deletion_protection       = false
