#!/usr/bin/env bash
# Builds kwok (test/cluster/kwok) and copies its stage YAMLs; ~3 min cold on 2 cores, <1 s cached.
#
# Output: .cache/cluster/kwok/<version>/{kwok,stages/*.yaml}; the last stdout line is that folder.
# The version is the one test/cluster/kwok/go.mod requires. kwok ships no stages compiled in: without
# `--config` with stage YAMLs its nodes never turn Ready and its pods never Running. The stages come
# from that same module's kustomize/stage (what upstream's release kustomization is made from):
# node/fast (nodes Ready at once), node/heartbeat (lease renewals) and pod/fast (pods Running at once,
# deleted at once when their deletionTimestamp is set).
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="build-kwok"
# shellcheck source=lib/build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/build.sh"
command -v go >/dev/null 2>&1 || die "'go' not found in PATH"

stages=(node-fast.yaml node-heartbeat.yaml pod-fast.yaml)

# build OUT MODULE VERSION: kwok, and its stages from the same module.
build() {
  local out="$1" module="$2" version="$3" src stage dir
  log "building kwok..."
  with_heartbeat "building kwok" go_build_into "$out" "$module" "" sigs.k8s.io/kwok/cmd/kwok ||
    die "building kwok failed"
  src="$(cd "$module" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  rm -rf "$out/stages" && mkdir -p "$out/stages"
  for stage in "${stages[@]}"; do
    # node-fast.yaml <- kustomize/stage/node/fast/*.yaml (one file per stage folder upstream).
    dir="${stage%.yaml}" && dir="$src/kustomize/stage/${dir%%-*}/${dir#*-}"
    [[ -d "$dir" ]] || die "no stage folder $dir in kwok $version"
    # Several YAML files in one folder become one multi-document file.
    find "$dir" -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml -print0 | sort -z |
      xargs -0 awk 'FNR == 1 && NR > 1 { print "---" } { print }' >"$out/stages/$stage"
    [[ -s "$out/stages/$stage" ]] || die "stage folder $dir holds no stage YAML"
  done
  chmod -R u+w "$out/stages"
}

cached_module_build kwok "$CLUSTER_REPO_ROOT/test/cluster/kwok" sigs.k8s.io/kwok build kwok "${stages[@]/#/stages/}"
