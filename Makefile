# Deployment entry points; `make help` lists them. Every target is one command line.
# Variables (override on the command line): ENV=dev|prod, PROJECT_ID, REGION, TAG.
SHELL := bash
.DEFAULT_GOAL := help

ENV ?= dev
PROJECT_ID ?= $(shell gcloud config get-value project 2>/dev/null)
REGION ?= us-central1
TAG ?= $(shell git rev-parse --short HEAD 2>/dev/null)
REGISTRY ?= $(REGION)-docker.pkg.dev/$(PROJECT_ID)/imagen
CLUSTER ?= imagen-$(ENV)
OP ?=

TF := terraform -chdir=terraform
TF_VARS := -var-file=environments/$(ENV).tfvars -var=project_id=$(PROJECT_ID)
# Fills the placeholders of k8s/ (project, region, image tag) in the rendered kustomization.
RENDER := sed -e 's|__PROJECT_ID__|$(PROJECT_ID)|g' -e 's|__REGION__|$(REGION)|g' -e 's|__IMAGE_TAG__|$(TAG)|g'
comma := ,
WORKER_SELECTOR = app.kubernetes.io/component=worker$(if $(OP),$(comma)imagen.dev/op=$(OP))

.PHONY: help tf-init tf-plan tf-apply tf-destroy build push models-push k8s-credentials \
	k8s-deploy-base k8s-deploy-workers k8s-deploy-autoscaling k8s-deploy-all k8s-hpa-status k8s-watch \
	k8s-logs compose-up kind-up

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN { FS = ":.*## " } { printf "  %-24s %s\n", $$1, $$2 }'

tf-init: ## terraform init, state in gs://<PROJECT_ID>-imagen-tfstate/<ENV>
	$(TF) init -backend-config=bucket=$(PROJECT_ID)-imagen-tfstate -backend-config=prefix=$(ENV)

tf-plan: ## terraform plan for ENV into terraform/<ENV>.tfplan
	$(TF) plan $(TF_VARS) -out=$(ENV).tfplan

tf-apply: ## apply terraform/<ENV>.tfplan made by tf-plan
	$(TF) apply $(ENV).tfplan

tf-destroy: ## destroy ENV (needs deletion_protection = false in its tfvars)
	$(TF) destroy $(TF_VARS)

build: ## build the API image and the CUDA worker image, tagged TAG (needs a Docker engine)
	docker build -f docker/api.Dockerfile -t $(REGISTRY)/api:$(TAG) . && docker build -f docker/worker.Dockerfile --target cuda -t $(REGISTRY)/worker:$(TAG) .

push: ## push both images to Artifact Registry
	docker push $(REGISTRY)/api:$(TAG) && docker push $(REGISTRY)/worker:$(TAG)

models-push: ## upload the model files in models/ to the models bucket the workers sync from
	gcloud storage rsync --recursive --exclude='.*\.json$$' models gs://$(PROJECT_ID)-imagen-models/models

k8s-credentials: ## point kubectl at the GKE cluster of ENV
	gcloud container clusters get-credentials $(CLUSTER) --region $(REGION) --project $(PROJECT_ID)

k8s-deploy-base: ## namespace, ConfigMap, service account, NetworkPolicy, ResourceQuota
	kubectl kustomize k8s/base | $(RENDER) | kubectl apply -f -

k8s-deploy-workers: ## the four worker Deployments (image TAG), PDBs, PodMonitoring, alert rules
	kubectl kustomize k8s/workers | $(RENDER) | kubectl apply -f -

k8s-deploy-autoscaling: ## the metrics adapter and the four HPAs
	kubectl kustomize k8s/autoscaling | $(RENDER) | kubectl apply -f -

k8s-deploy-all: ## base, then workers, then autoscaling
	$(MAKE) k8s-deploy-base && $(MAKE) k8s-deploy-workers && $(MAKE) k8s-deploy-autoscaling

k8s-hpa-status: ## the HPAs: backlog per worker, replicas
	kubectl -n imagen get hpa -o wide

k8s-watch: ## watch the worker pods come and go
	kubectl -n imagen get pods -l app.kubernetes.io/component=worker -o wide --watch

k8s-logs: ## follow the worker logs (OP=upscale for one op)
	kubectl -n imagen logs -f -l '$(WORKER_SELECTOR)' -c worker --prefix --max-log-requests=50

compose-up: ## API + CPU worker + GCP emulators on http://localhost:8080 (needs Docker)
	docker compose -f docker/docker-compose.yml up --build

kind-up: ## kind cluster "imagen" with the API and the CPU worker on http://localhost:8080
	(kind get clusters | grep -qx imagen || sed 's|__MODELS_DIR__|$(CURDIR)/models|' k8s/local/kind-config.yaml | kind create cluster --config=-) && docker build -f docker/api.Dockerfile -t imagen-api:local . && docker build -f docker/worker.Dockerfile --target cpu -t imagen-worker:cpu . && kind load docker-image imagen-api:local imagen-worker:cpu --name imagen && kubectl --context kind-imagen apply -k k8s/local
