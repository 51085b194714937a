#!/usr/bin/env bash
# Builds the injector's image from the project's Dockerfile on the cluster's dockerd and loads it into the node; ~2 min cold (npm ci twice), ~10 s when only source changed.
#
# The Dockerfile is used as it is, but for its NODE_IMAGE build argument, which points at the local
# base image dev.local/node:<.node-version> (scripts/cluster/build-images.sh; there is no registry to
# pull node:*-bookworm-slim from). Docker's classic builder (DOCKER_BUILDKIT=0): with BuildKit, the
# Dockerfile's `# syntax=docker/dockerfile:1` line makes the build fetch that frontend image from
# Docker Hub, which this machine can't reach; the classic builder reads the line as a comment and
# builds the same stages. --network=host: the RUN steps' `npm ci` reaches the npm registry as the host
# does (dockerd here makes no bridge and no NAT). The tag is the image's own id, so every change of
# content is a new tag. Prints the image name (last stdout line) and its size.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="image-injector"
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib/build.sh
source "$here/lib/build.sh"
# shellcheck source=lib/config.sh
source "$here/lib/config.sh"
[[ -S "$CLUSTER_DOCKER_SOCK" ]] || die "no cluster dockerd at $CLUSTER_DOCKER_SOCK: scripts/cluster/cluster.sh up (with the docker component)"
export DOCKER_HOST="unix://$CLUSTER_DOCKER_SOCK" DOCKER_BUILDKIT=0
node_version="$(tr -d ' \n\r' <"$CLUSTER_REPO_ROOT/.node-version")"
node_version="${node_version#v}"
repo=dev.local/nsm-sidecar-injector

t0=$SECONDS
log "docker build (classic builder) with NODE_IMAGE=dev.local/node:$node_version..."
build_log="$CLUSTER_LOGS/image-injector.log"
if ! with_heartbeat "building the image" "$CLUSTER_DOCKER_CLI" build --network=host --iidfile "$CLUSTER_STATE/image-injector.id" \
  --build-arg "NODE_IMAGE=dev.local/node:$node_version" -t "$repo:build" "$CLUSTER_REPO_ROOT" >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  die "docker build failed (whole output: $build_log)"
fi
id="$(cut -d: -f2 <"$CLUSTER_STATE/image-injector.id" | cut -c1-12)"
image="$repo:$id"
"$CLUSTER_DOCKER_CLI" tag "$repo:build" "$image"
size="$("$CLUSTER_DOCKER_CLI" image inspect -f '{{.Size}}' "$image")"
log "built $image in $((SECONDS - t0))s: $((size / 1000000)) MB (uncompressed; base dev.local/node:$node_version)"
figure "injector image: docker build" $((SECONDS - t0)) s
figure "injector image: size (uncompressed, as docker reports it)" $((size / 1000000)) MB
t1=$SECONDS
"$here/load-image.sh" "$image"
figure "injector image: docker save | ctr import into the node" $((SECONDS - t1)) s
echo "$image"
