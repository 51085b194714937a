#!/usr/bin/env bash
# The real-cluster suite (npm run test:cluster): cluster up, injector image, jest, cluster down (always); ~15 min warm, ~45 min cold (builds).
#
#   npm run test:cluster                      everything, then tears the cluster down
#   npm run test:cluster -- -t 'renewal'      extra arguments go to jest
#   CLUSTER_KEEP=1 npm run test:cluster       leave the cluster up afterwards (cluster.sh down later)
#
# A cluster that is already up (cluster.sh up) is used as it is and left up. Otherwise the one this
# starts is torn down on every exit: pass, failure, Ctrl-C or kill; `down` also checks that the host
# (iptables, links, routes, mounts, sysctls) is as before, and a difference fails the run. Measured
# figures are printed at the end (and kept in .cache/cluster/logs/figures.jsonl). This is what
# docs/deploy.md's "Verified here" commands do: up, env, the suite, down.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="test-cluster"
# shellcheck source=lib/build.sh
source "$here/lib/build.sh"
cd "$CLUSTER_REPO_ROOT"

started=0
if ! "$here/cluster.sh" status >/dev/null 2>&1; then started=1; fi
figures="$CLUSTER_CACHE/logs/figures.jsonl"
mkdir -p "$(dirname "$figures")" && : >"$figures"

finish() {
  local rc=$? t
  trap - EXIT INT TERM
  if [[ -s "$figures" ]]; then
    log "figures measured in this run:"
    sed 's/^/  /' "$figures" >&2
  fi
  if [[ $started == 1 && "${CLUSTER_KEEP:-0}" != 1 ]]; then
    t=$SECONDS
    "$here/cluster.sh" down || rc=1
    log "cluster down in $((SECONDS - t))s"
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

export NSM_CLUSTER_FIGURES="$figures"
t0=$SECONDS
"$here/cluster.sh" up
figure "cluster.sh up, whole" $((SECONDS - t0)) s
eval "$("$here/cluster.sh" env)"
PATH="$("$here/build-skaffold.sh" | tail -1):$PATH"
NSM_INJECTOR_IMAGE="$("$here/image-injector.sh" | tail -1)"
export NSM_INJECTOR_IMAGE
npx jest -c jest.cluster.config.js "$@"
