#!/usr/bin/env bash
# Builds Traefik (test/cluster/traefik), its image and CRDs, the knative profile's networking layer; ~14 min cold on 2 cores (36 s with warm Go caches), <1 s cached.
#
# Output: .cache/cluster/traefik/<version>/{traefik,traefik.tar,crds.yaml}; the last stdout line is that
# folder. traefik.tar is the image dev.local/traefik:<version> (the static binary alone, run as a
# non-root user); crds.yaml is the traefik.io CRDs of the same module (IngressRoute, Middleware...).
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="build-traefik"
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib/build.sh
source "$here/lib/build.sh"
# shellcheck source=lib/image.sh
source "$here/lib/image.sh"
command -v go >/dev/null 2>&1 || die "'go' not found in PATH"

# build OUT MODULE VERSION: the traefik command, its one-binary image, and the CRDs.
build() {
  local out="$1" module="$2" version="$3" src
  log "building traefik (about 14 minutes the first time on 2 cores)..."
  with_heartbeat "building traefik" go_build_into "$out" "$module" \
    "-X github.com/traefik/traefik/v3/pkg/version.Version=$version" \
    github.com/traefik/traefik/v3/cmd/traefik || die "building traefik failed"
  binary_image "dev.local/traefik:$version" "$out/traefik" /traefik "$out/traefik.tar" '{"Entrypoint":["/traefik"],"User":"65532:65532"}'
  src="$(cd "$module" && go list -m -f '{{.Dir}}' github.com/traefik/traefik/v3)"
  cp "$src/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml" "$out/crds.yaml"
  chmod u+w "$out/crds.yaml"
}

cached_module_build traefik "$CLUSTER_REPO_ROOT/test/cluster/traefik" github.com/traefik/traefik/v3 build traefik traefik.tar crds.yaml
