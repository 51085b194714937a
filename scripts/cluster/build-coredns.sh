#!/usr/bin/env bash
# Builds CoreDNS (test/cluster/coredns: a small main with a cluster DNS's plugins) and its image; ~3.5 min cold on 2 cores (10 s with warm Go caches), <1 s cached.
#
# Output: .cache/cluster/coredns/<version>/{coredns,coredns.tar}: the binary, and the image
# dev.local/coredns:<version> holding it alone (run as a non-root user; it listens on 5353, not 53).
# The last stdout line is that folder.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="build-coredns"
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib/build.sh
source "$here/lib/build.sh"
# shellcheck source=lib/image.sh
source "$here/lib/image.sh"
command -v go >/dev/null 2>&1 || die "'go' not found in PATH"

build() {
  local out="$1" module="$2" version="$3"
  log "building coredns..."
  with_heartbeat "building coredns" go_build_into "$out" "$module" "" nsm-sidecar-injector/test/cluster/coredns || die "building coredns failed"
  binary_image "dev.local/coredns:$version" "$out/coredns" /coredns "$out/coredns.tar" '{"Entrypoint":["/coredns"],"User":"65532:65532"}'
}

cached_module_build coredns "$CLUSTER_REPO_ROOT/test/cluster/coredns" github.com/coredns/coredns build coredns coredns.tar
