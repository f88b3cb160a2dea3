# terraform plan -var-file=environments/prod.tfvars -var="project_id=<prod project>"
environment               = "prod"
region                    = "us-central1"
firestore_location        = "nam5"
cors_origins              = ["https://imagen.example.com"]
api_min_instances         = 1
api_max_instances         = 20
api_allow_unauthenticated = false
master_authorized_cidrs   = []
deletion_protection       = true
