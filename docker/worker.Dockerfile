# syntax=docker/dockerfile:1.7
# The worker image, two targets from one file (build from the repo root):
#   docker build -f docker/worker.Dockerfile --target cuda -t imagen-worker .        (GKE, GPU; default)
#   docker build -f docker/worker.Dockerfile --target cpu  -t imagen-worker:cpu .    (kind, compose)
# Base images are pinned by digest (docs/deploy.md, "Base images"); bump tag and digest together.
# checkov:skip=CKV_DOCKER_7: every FROM uses the ARG defaults below, which carry a version tag and a digest; checkov does not expand ARGs.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0
# onnxruntime-node 1.30's CUDA provider is built for CUDA 12 and cuDNN 9; this runtime image has
# both (the amd64 manifest, as GKE's GPU nodes are amd64).
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04@sha256:59e0e4376a0f16d10b03d3a14344b80a866a1674cb4948cb318291387ac05010

FROM ${NODE_IMAGE} AS node

FROM ${NODE_IMAGE} AS prune
WORKDIR /src
COPY . .
RUN npx --yes turbo@2.11.9 prune @imagen/worker --docker --out-dir /out

FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY --from=prune /out/json/ ./
COPY .npmrc tsconfig.base.json ./

# CPU build: .npmrc skips onnxruntime-node's CUDA download; the CPU provider ships in the package.
FROM manifests AS build-cpu
RUN npm ci --no-audit --no-fund
COPY --from=prune /out/full/ ./
RUN npx turbo run build --filter=@imagen/worker... \
  && npm prune --omit=dev --no-audit --no-fund

# CUDA build: onnxruntime-node's install step downloads its CUDA 12 provider libraries.
FROM manifests AS build-cuda
ENV ONNXRUNTIME_NODE_INSTALL=cuda12
RUN npm ci --no-audit --no-fund
COPY --from=prune /out/full/ ./
RUN npx turbo run build --filter=@imagen/worker... \
  && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS cpu
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 10001 imagen \
  && useradd --uid 10001 --gid imagen --no-create-home --shell /usr/sbin/nologin imagen
ENV NODE_ENV=production IMAGEN_EXECUTION_PROVIDER=cpu IMAGEN_MODEL_DIR=/models \
    MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_TRIM_THRESHOLD_=1048576 \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1
WORKDIR /app
COPY --from=build-cpu /app ./
COPY models/manifest.json ./models/manifest.json
USER 10001:10001
EXPOSE 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WORKER_PORT || 8081) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "apps/worker/dist/main.js"]

# The default target: Node copied onto the CUDA runtime image (same Node build as the other stages).
FROM ${CUDA_IMAGE} AS cuda
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini=0.19.0-1 \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 10001 imagen \
  && useradd --uid 10001 --gid imagen --no-create-home --shell /usr/sbin/nologin imagen
COPY --from=node /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production IMAGEN_EXECUTION_PROVIDER=cuda IMAGEN_MODEL_DIR=/models \
    MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_TRIM_THRESHOLD_=1048576 \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1
WORKDIR /app
COPY --from=build-cuda /app ./
COPY models/manifest.json ./models/manifest.json
USER 10001:10001
EXPOSE 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WORKER_PORT || 8081) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "apps/worker/dist/main.js"]
