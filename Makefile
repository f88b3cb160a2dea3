# Deployment entry points; `make help` lists them, docs/deploy.md gives the order. Every target is
# one command line. Variables (override on the command line): ENV=dev|prod, PROJECT_ID, REGION, TAG.
SHELL := bash
.DEFAULT_GOAL := help

ENV ?= dev
PROJECT_ID ?= $(shell gcloud config get-value project 2>/dev/null)
REGION ?= us-central1
# Cloud Build's $SHORT_SHA is 7 characters; plain --short may give more.
TAG ?= $(shell git rev-parse --short=7 HEAD 2>/dev/null)
REGISTRY ?= $(REGION)-docker.pkg.dev/$(PROJECT_ID)/imagen
# Terraform's cluster_name default and cloudbuild.yaml's _GKE_CLUSTER (test/infra checks they agree).
CLUSTER ?= imagen-cluster
TF_STATE_BUCKET ?= $(PROJECT_ID)-imagen-tfstate
DEPLOYER ?= imagen-deployer@$(PROJECT_ID).iam.gserviceaccount.com
OP ?=
KEYS_FILE ?=

TF := terraform -chdir=terraform
TF_VARS := -var-file=environments/$(ENV).tfvars -var=project_id=$(PROJECT_ID) -var=cluster_name=$(CLUSTER)
# Fills the placeholders of k8s/ (project, region, image tag, cluster) in the rendered kustomization.
RENDER := sed -e 's|__PROJECT_ID__|$(PROJECT_ID)|g' -e 's|__REGION__|$(REGION)|g' -e 's|__IMAGE_TAG__|$(TAG)|g' -e 's|__CLUSTER__|$(CLUSTER)|g'
comma := ,
WORKER_SELECTOR = app.kubernetes.io/component=worker$(if $(OP),$(comma)imagen.dev/op=$(OP))

.PHONY: help tf-init tf-plan tf-apply tf-up tf-destroy api-keys build push deploy-api cloud-build models-push \
	get-credentials k8s-deploy-base k8s-deploy-workers k8s-deploy-autoscaling k8s-deploy-all k8s-hpa-status \
	k8s-watch k8s-logs compose-up kind-up

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN { FS = ":.*## " } { printf "  %-24s %s\n", $$1, $$2 }'

tf-init: ## enable the APIs Terraform calls first, create the state bucket <PROJECT_ID>-imagen-tfstate if missing, terraform init
	gcloud services enable serviceusage.googleapis.com cloudresourcemanager.googleapis.com --project=$(PROJECT_ID) && (gcloud storage buckets describe gs://$(TF_STATE_BUCKET) --project=$(PROJECT_ID) >/dev/null 2>&1 || gcloud storage buckets create gs://$(TF_STATE_BUCKET) --project=$(PROJECT_ID) --location=$(REGION) --uniform-bucket-level-access --public-access-prevention) && gcloud storage buckets update gs://$(TF_STATE_BUCKET) --versioning && $(TF) init -reconfigure -backend-config=bucket=$(TF_STATE_BUCKET) -backend-config=prefix=$(ENV)

tf-plan: ## terraform plan for ENV into terraform/<ENV>.tfplan (review it)
	$(TF) plan $(TF_VARS) -out=$(ENV).tfplan

tf-apply: ## apply terraform/<ENV>.tfplan and delete it; without a plan file, plan and ask before applying
	if [[ -f terraform/$(ENV).tfplan ]]; then $(TF) apply $(ENV).tfplan && rm -f terraform/$(ENV).tfplan; else $(TF) apply $(TF_VARS); fi

tf-up: ## tf-init, tf-plan and tf-apply in a row (no pause to review the plan)
	$(MAKE) tf-init tf-plan tf-apply

tf-destroy: ## destroy ENV (needs deletion_protection = false in its tfvars)
	$(TF) destroy $(TF_VARS)

api-keys: ## add KEYS_FILE (one name:sha256:<hex> a line) as the API keys' new version; the next API revision reads it
	[[ -s "$(KEYS_FILE)" ]] || { echo 'KEYS_FILE=<file> is required: see docs/deploy.md, step 3' >&2; exit 1; }; gcloud secrets versions add imagen-api-keys --data-file="$(KEYS_FILE)" --project=$(PROJECT_ID)

build: ## build the API image and the CUDA worker image, tagged TAG (needs a Docker engine)
	docker build -f docker/api.Dockerfile -t $(REGISTRY)/api:$(TAG) . && docker build -f docker/worker.Dockerfile --target cuda -t $(REGISTRY)/worker:$(TAG) .

push: ## log Docker in to Artifact Registry and push both images
	gcloud auth configure-docker $(REGION)-docker.pkg.dev --quiet && docker push $(REGISTRY)/api:$(TAG) && docker push $(REGISTRY)/worker:$(TAG)

deploy-api: ## point Cloud Run's imagen-api at api:TAG (what Cloud Build's deploy-api step does)
	gcloud run deploy imagen-api --image=$(REGISTRY)/api:$(TAG) --region=$(REGION) --project=$(PROJECT_ID) --quiet

cloud-build: ## run cloudbuild.yaml on this checkout as the deployer account, images tagged TAG (no local Docker)
	gcloud builds submit --project=$(PROJECT_ID) --config=cloudbuild.yaml --substitutions=_TAG=$(TAG),_REGION=$(REGION),_GKE_CLUSTER=$(CLUSTER) --service-account=projects/$(PROJECT_ID)/serviceAccounts/$(DEPLOYER) --gcs-source-staging-dir=gs://$(PROJECT_ID)-imagen-build/source .

models-push: ## upload the model files in models/ to the models bucket the workers sync from
	gcloud storage rsync --recursive --exclude='.*\.json$$' models gs://$(PROJECT_ID)-imagen-models/models

get-credentials: ## point kubectl at the GKE cluster CLUSTER
	gcloud container clusters get-credentials $(CLUSTER) --region=$(REGION) --project=$(PROJECT_ID)

k8s-deploy-base: ## namespace, ConfigMap, service account, NetworkPolicy, ResourceQuota
	kubectl kustomize k8s/base | $(RENDER) | kubectl apply -f -

k8s-deploy-workers: ## the four worker Deployments (image TAG), PDBs, PodMonitoring, alert rules
	kubectl kustomize k8s/workers | $(RENDER) | kubectl apply -f -

k8s-deploy-autoscaling: ## the metrics adapter and the four HPAs
	kubectl kustomize k8s/autoscaling | $(RENDER) | kubectl apply -f -

k8s-deploy-all: ## model files, then base, workers and autoscaling
	$(MAKE) models-push k8s-deploy-base k8s-deploy-workers k8s-deploy-autoscaling

k8s-hpa-status: ## the HPAs: backlog per worker, replicas
	kubectl -n imagen get hpa -o wide

k8s-watch: ## watch the worker pods come and go
	kubectl -n imagen get pods -l app.kubernetes.io/component=worker -o wide --watch

k8s-logs: ## follow the worker logs (OP=upscale for one op)
	kubectl -n imagen logs -f -l '$(WORKER_SELECTOR)' -c worker --prefix --max-log-requests=50

compose-up: ## API + CPU worker + GCP emulators on http://localhost:8080 (needs Docker)
	docker compose -f docker/docker-compose.yml up --build

kind-up: ## kind cluster "imagen" with the API and the CPU worker on http://localhost:8090 (needs Docker, kind)
	(kind get clusters | grep -qx imagen || sed 's|__MODELS_DIR__|$(CURDIR)/models|' k8s/local/kind-config.yaml | kind create cluster --config=-) && docker build -f docker/api.Dockerfile -t imagen-api:local . && docker build -f docker/worker.Dockerfile --target cpu -t imagen-worker:cpu . && kind load docker-image imagen-api:local imagen-worker:cpu --name imagen && kubectl --context kind-imagen apply -k k8s/local
