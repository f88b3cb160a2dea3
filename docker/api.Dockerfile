# syntax=docker/dockerfile:1.7
# The API image (Cloud Run). Build from the repo root:
#   docker build -f docker/api.Dockerfile -t imagen-api .
# Base images are pinned by digest (docs/deploy.md, "Base images"); bump tag and digest together.
# checkov:skip=CKV_DOCKER_7: every FROM uses the ARG defaults below, which carry a version tag and a digest; checkov does not expand ARGs.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0

# 1. Only the workspaces the API depends on, split into manifests (json/) and sources (full/), so
#    the dependency layer is rebuilt only when a package.json or the lockfile changes.
FROM ${NODE_IMAGE} AS prune
WORKDIR /src
COPY . .
RUN npx --yes turbo@2.11.9 prune @imagen/api --docker --out-dir /out

# 2. Install, build, then drop dev dependencies (onnxruntime-node comes only with the test tooling,
#    so it goes too). .npmrc skips its CUDA download.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=prune /out/json/ ./
COPY .npmrc tsconfig.base.json ./
RUN npm ci --no-audit --no-fund
COPY --from=prune /out/full/ ./
RUN npx turbo run build --filter=@imagen/api... \
  && npm prune --omit=dev --no-audit --no-fund

# 3. Runtime: no compiler, no dev dependencies, non-root, tini as PID 1 (signals reach node, zombies
#    are reaped).
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 10001 imagen \
  && useradd --uid 10001 --gid imagen --no-create-home --shell /usr/sbin/nologin imagen
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
# Every interface: without API keys the code would default to 127.0.0.1, out of reach of the port mapping.
ENV HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app ./
# The model catalogue (GET /v1/ops, option checks); the API runs no model.
COPY models/manifest.json ./models/manifest.json
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "apps/api/dist/main.js"]
