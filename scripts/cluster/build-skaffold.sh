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

module="$CLUSTER_REPO_ROOT/test/cluster/skaffold"
version="$(awk '$1 == "require" && $2 == "github.com/GoogleContainerTools/skaffold/v2" { print $3 }' "$module/go.mod")"
[[ -n "$version" ]] || die "no Skaffold version in $module/go.mod"
out="$CLUSTER_CACHE/skaffold/$version"
want="$(stamp "$module" "${BASH_SOURCE[0]}" "$(dirname "${BASH_SOURCE[0]}")/lib/build.sh")"

t0=$SECONDS
if ! up_to_date "$out" "$want" skaffold; then
  lock_dir "$out"
  if ! up_to_date "$out" "$want" skaffold; then
    rm -f "$out/.stamp"
    log "go $(go env GOVERSION), skaffold $version -> $out"
    log "downloading modules (first run only)..."
    (cd "$module" && go mod download)
    log "building skaffold (about 11 minutes the first time on 2 cores)..."
    # `skaffold version` reports what the release would.
    ldflags="-X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$version"
    with_heartbeat "building skaffold" go_build_into "$out" "$module" "$ldflags" \
      github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold || die "building skaffold failed"
    echo "$want" >"$out/.stamp"
    log "built in $((SECONDS - t0))s"
    figure "build: skaffold (cold)" $((SECONDS - t0)) s
  fi
else
  log "skaffold $version already built in $out (skipped)"
fi
echo "$out"
