#!/usr/bin/env bash
# Builds cert-manager's controller and cainjector (test/cluster/certmanager) and copies its CRDs; ~4 min cold on 2 cores, <1 s cached.
#
# Output: .cache/cluster/cert-manager/<version>/{controller,cainjector,crds/*.yaml}; the last stdout
# line is that folder. The version is the one test/cluster/certmanager/go.mod requires; the CRDs come
# from that same module's deploy/crds (what upstream's release manifests are made from).
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="build-certmanager"
# shellcheck source=lib/build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/build.sh"
command -v go >/dev/null 2>&1 || die "'go' not found in PATH"

# build OUT MODULE VERSION: the controller and the cainjector, and the CRDs of the same module.
build() {
  local out="$1" module="$2" src
  log "building controller and cainjector..."
  with_heartbeat "building cert-manager" go_build_into "$out" "$module" "" ./cmd/controller ./cmd/cainjector ||
    die "building cert-manager failed"
  src="$(cd "$module" && go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)"
  rm -rf "$out/crds" && mkdir -p "$out/crds" && cp "$src"/deploy/crds/*.yaml "$out/crds/" && chmod -R u+w "$out/crds"
}

cached_module_build cert-manager "$CLUSTER_REPO_ROOT/test/cluster/certmanager" github.com/cert-manager/cert-manager build \
  controller cainjector crds/cert-manager.io_certificates.yaml
