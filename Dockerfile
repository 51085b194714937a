# syntax=docker/dockerfile:1
# The function's image. Two stages: build compiles TypeScript with the dev dependencies; the
# runtime stage holds only production dependencies, the compiled dist/ and the bundled default
# config, and starts the function with the functions-framework CLI (what `npm start` runs).
#
# Node 24 is an LTS line (node 20 is end-of-life). The tag is pinned to an exact release so a build
# is reproducible; bump it (or pin a digest) deliberately, together with the test run.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, in their own layer: source edits don't re-run npm ci.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY functions ./functions
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The bundled default config: functions/config/source.ts reads <package root>/manifests/base/config.yaml
# (the package root is this folder, holding package.json) when INJECTOR_CONFIG is unset.
COPY manifests/base/config.yaml ./manifests/base/config.yaml
# The distroless "nonroot" uid: numeric, so Kubernetes' runAsNonRoot can verify it without a
# passwd entry. Everything above is root-owned and read-only to this user.
USER 65532:65532
# 8080: functions-framework's $PORT default (Knative sets PORT itself). 8443: the HTTPS entry point
# (node dist/functions/https/main.js) of the deployment profile.
EXPOSE 8080 8443
CMD ["node_modules/.bin/functions-framework", "--target=mutate", "--signature-type=http", "--source=dist/functions/index.js"]
