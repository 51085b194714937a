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

module="$CLUSTER_REPO_ROOT/test/cluster/certmanager"
version="$(awk '$1 == "require" && $2 == "github.com/cert-manager/cert-manager" { print $3 }
  $1 == "github.com/cert-manager/cert-manager" && $2 ~ /^v/ { print $2 }' "$module/go.mod" | head -1)"
[[ -n "$version" ]] || die "no cert-manager version in $module/go.mod"
out="$CLUSTER_CACHE/cert-manager/$version"
want="$(stamp "$module" "${BASH_SOURCE[0]}" "$(dirname "${BASH_SOURCE[0]}")/lib/build.sh")"
files=(controller cainjector crds/cert-manager.io_certificates.yaml)

t0=$SECONDS
if ! up_to_date "$out" "$want" "${files[@]}"; then
  lock_dir "$out"
  if ! up_to_date "$out" "$want" "${files[@]}"; then
    rm -f "$out/.stamp"
    log "go $(go env GOVERSION), cert-manager $version -> $out"
    log "downloading modules (first run only)..."
    (cd "$module" && go mod download)
    log "building controller and cainjector..."
    with_heartbeat "building cert-manager" go_build_into "$out" "$module" "" ./cmd/controller ./cmd/cainjector ||
      die "building cert-manager failed"
    src="$(cd "$module" && go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)"
    rm -rf "$out/crds" && mkdir -p "$out/crds" && cp "$src"/deploy/crds/*.yaml "$out/crds/" && chmod -R u+w "$out/crds"
    echo "$want" >"$out/.stamp"
    log "built in $((SECONDS - t0))s"
    figure "build: cert-manager (cold)" $((SECONDS - t0)) s
  fi
else
  log "cert-manager $version already built in $out (skipped)"
fi
echo "$out"
