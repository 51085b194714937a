#!/usr/bin/env bash
# Builds Skaffold (test/cluster/skaffold, a scratch module repeating Skaffold's replace/exclude lines); ~11 min cold on 2 cores, <1 s cached.
#
# Output: .cache/cluster/skaffold/<version>/skaffold; the last stdout line is that folder.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="build-skaffold"
# shellcheck source=lib/build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/build.sh"
command -v go >/dev/null 2>&1 || die "'go' not found in PATH"

# build OUT MODULE VERSION: the skaffold command, reporting VERSION as a release would.
build() {
  local out="$1" module="$2" version="$3"
  log "building skaffold (about 11 minutes the first time on 2 cores)..."
  with_heartbeat "building skaffold" go_build_into "$out" "$module" \
    "-X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$version" \
    github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold || die "building skaffold failed"
}

cached_module_build skaffold "$CLUSTER_REPO_ROOT/test/cluster/skaffold" github.com/GoogleContainerTools/skaffold/v2 build skaffold
