#!/usr/bin/env bash
# A real-cluster suite: cluster up, injector image, jest, cluster down (always). test:cluster ~15 min warm, ~22 min cold; test:knative ~12 min with warm Go caches, ~32 min after test:cluster's builds (~70 from nothing).
#
#   npm run test:cluster                      the deployment profile's suite (test/cluster/*.cluster.test.ts),
#                                             then tears the cluster down
#   npm run test:knative                      the knative profile's suite (test/cluster/knative-profile), on
#                                             a cluster with CoreDNS, Knative Serving and Traefik as well
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
# Which suite; the knative one needs three more components (before lib/config.sh sets the default).
suite=cluster
if [[ "${1:-}" == knative ]]; then
  suite=knative
  shift
  export CLUSTER_COMPONENTS="${CLUSTER_COMPONENTS:-cert-manager,docker,coredns,knative,traefik}"
  for needed in cert-manager docker coredns knative traefik; do
    [[ ",$CLUSTER_COMPONENTS," == *",$needed,"* ]] || { echo "test:knative needs $needed in CLUSTER_COMPONENTS ($CLUSTER_COMPONENTS)" >&2; exit 2; }
  done
fi
# shellcheck source=lib/build.sh
source "$here/lib/build.sh"
# shellcheck source=lib/config.sh
source "$here/lib/config.sh"
cd "$CLUSTER_REPO_ROOT"

started=0
if ! "$here/cluster.sh" status >/dev/null 2>&1; then started=1; fi
if [[ $suite == knative && $started == 0 ]]; then
  up_with="$(cat "$CLUSTER_STATE/components" 2>/dev/null || true)"
  for needed in coredns knative traefik; do
    [[ ",$up_with," == *",$needed,"* ]] || die "the cluster that is up has no $needed (components: $up_with): cluster.sh down first"
  done
fi
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
npx jest -c "jest.$suite.config.js" "$@"
