#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine (up|down|env|status|logs); `up` ~30 s with cached builds (~20 min cold: Kubernetes, cert-manager, images), `down` ~10 s.
#
#   scripts/cluster/cluster.sh up       install host packages, build what is missing (cached under
#                                       .cache/), start the cluster, wait until the node is Ready
#   eval "$(scripts/cluster/cluster.sh env)"   KUBECONFIG, PATH (kubectl v1.36), DOCKER_HOST, ...
#   scripts/cluster/cluster.sh status   which processes run
#   scripts/cluster/cluster.sh logs     where their logs are
#   scripts/cluster/cluster.sh apiserver [FLAG...]   restart kube-apiserver with these extra flags (none:
#                                       as `up` started it), e.g. --enable-aggregator-routing=true
#   scripts/cluster/cluster.sh down     stop everything and put the host back as `up` found it; fails
#                                       (and prints the difference) if anything is left behind
#
# What runs (all as host processes, root): etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, containerd (Debian's), kubelet, kube-proxy (iptables mode); then the optional
# components of CLUSTER_COMPONENTS (default cert-manager,docker; the knative suite adds coredns,knative,traefik,
# ~23 min more to build cold). Pods run in containers on one CNI
# bridge with no way out of the machine (scripts/cluster/lib/network.sh). Addresses, names and paths:
# scripts/cluster/lib/config.sh. Needs root, Linux, Debian's apt-get, Go and the Go module proxy.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="cluster"
CLUSTER_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for part in build config host-state procs pki network controlplane node; do
  # shellcheck source=/dev/null
  source "$CLUSTER_SCRIPTS/lib/$part.sh"
done
for part in "$CLUSTER_SCRIPTS"/components/*.sh; do
  # shellcheck source=/dev/null
  source "$part"
done

kubectl() { command "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }

# component_fn COMPONENT build|up: the function of scripts/cluster/components/COMPONENT.sh that builds
# what the component needs (optional) or starts it, e.g. cert_manager_up. A new component (Knative,
# CoreDNS, kwok...) is one more file there defining these, named in CLUSTER_COMPONENTS.
component_fn() { echo "${1//-/_}_$2"; }

controlplane_bin() { "$CLUSTER_REPO_ROOT/scripts/build-controlplane.sh" | tail -1; }

cmd_up() {
  [[ "$(id -u)" == 0 ]] || die "needs root (kubelet, containerd, iptables, mounts)"
  if [[ -d "$CLUSTER_STATE" ]]; then
    if proc_alive kube-apiserver; then
      log "a cluster is already up ($CLUSTER_STATE); 'down' first to start a new one"
      return 0
    fi
    log "leftovers of a cluster that did not stop cleanly: tearing them down first"
    cmd_down || true
  fi
  local t0=$SECONDS bin component
  for component in ${CLUSTER_COMPONENTS//,/ }; do
    declare -F "$(component_fn "$component" up)" >/dev/null || die "unknown component '$component' in CLUSTER_COMPONENTS (scripts/cluster/components/)"
  done
  "$CLUSTER_SCRIPTS/install-host-packages.sh"
  bin="$(controlplane_bin)"
  KUBECTL="$bin/kubectl"
  CLUSTER_IMAGES="$("$CLUSTER_SCRIPTS/build-images.sh" | tail -1)"
  for component in ${CLUSTER_COMPONENTS//,/ }; do
    if declare -F "$(component_fn "$component" build)" >/dev/null; then "$(component_fn "$component" build)"; fi
  done
  log "builds ready ($((SECONDS - t0))s); starting the cluster"
  figure "cluster.sh up: builds (cached or not, as found)" $((SECONDS - t0)) s

  local t1=$SECONDS
  mkdir -p "$CLUSTER_STATE" && chmod 700 "$CLUSTER_STATE"
  host_snapshot >"$CLUSTER_STATE/host-before.txt"
  echo "$CLUSTER_COMPONENTS" >"$CLUSTER_STATE/components"
  echo "$bin" >"$CLUSTER_STATE/bin"
  net_up
  local d
  for d in $CLUSTER_NSM_HOST_DIRS; do mkdir -p "$d"; done
  pki_make_all
  controlplane_up "$bin"
  node_containerd_up
  local archives
  mapfile -t archives < <(awk -v d="$CLUSTER_IMAGES" -F'\t' '$1 !~ /^dev.local\/node:/ { print d "/" $2 }' "$CLUSTER_IMAGES/images.tsv")
  node_import_images "${archives[@]}"
  node_kubelet_up "$bin"
  node_kube_proxy_up "$bin"
  wait_for "node $CLUSTER_NODE_NAME Ready" 120 "kubelet kube-apiserver" \
    kubectl wait --for=condition=Ready --timeout=1s "node/$CLUSTER_NODE_NAME"
  wait_for "default ServiceAccount" 60 kube-controller-manager kubectl -n default get serviceaccount default
  log "cluster up in $((SECONDS - t1))s (node Ready; $((SECONDS - t0))s with builds)"
  figure "cluster.sh up: cluster start to node Ready (no builds)" $((SECONDS - t1)) s

  local t2
  for component in ${CLUSTER_COMPONENTS//,/ }; do
    t2=$SECONDS
    "$(component_fn "$component" up)"
    figure "cluster.sh up: component $component" $((SECONDS - t2)) s
  done
  log "up in $((SECONDS - t0))s; use it with: eval \"\$($0 env)\""
}

cmd_down() {
  local t0=$SECONDS bin="" before="$CLUSTER_STATE/host-before.txt" saved
  [[ -d "$CLUSTER_STATE" ]] || { log "no cluster ($CLUSTER_STATE does not exist)"; return 0; }
  [[ -f "$CLUSTER_STATE/bin" ]] && bin="$(cat "$CLUSTER_STATE/bin")"
  # Control loops first, so nothing restarts what is being stopped.
  local name
  for name in cert-manager-cainjector cert-manager-controller kube-proxy kubelet kube-scheduler kube-controller-manager; do
    proc_stop "$name"
  done
  log "control loops stopped ($((SECONDS - t0))s)"
  node_containers_down
  log "containers killed ($((SECONDS - t0))s)"
  proc_stop dockerd 20
  proc_stop containerd
  node_shims_down
  proc_stop_all
  log "processes stopped ($((SECONDS - t0))s)"
  node_netns_down
  if [[ -n "$bin" && -x "$bin/kube-proxy" ]]; then
    "$bin/kube-proxy" --cleanup >/dev/null 2>&1 || log "warning: kube-proxy --cleanup failed"
  fi
  net_down
  node_unmount_state
  node_cgroups_down

  saved=""
  if [[ -f "$before" ]]; then
    host_restore_sysctls "$before"
    host_remove_new_paths "$before"
    host_iptables_remove_new "$before"
    saved="$(mktemp)" && cp "$before" "$saved"
  fi
  if [[ -d "$CLUSTER_LOGS" ]]; then
    rm -rf "$CLUSTER_CACHE/logs/last" && mkdir -p "$CLUSTER_CACHE/logs/last"
    cp -a "$CLUSTER_LOGS/." "$CLUSTER_CACHE/logs/last/" 2>/dev/null || true
    cp -a "$CLUSTER_STATE/pod-logs" "$CLUSTER_CACHE/logs/last/pods" 2>/dev/null || true
  fi
  rm -rf "$CLUSTER_STATE"
  log "down in $((SECONDS - t0))s (logs kept in $CLUSTER_CACHE/logs/last)"

  [[ -n "$saved" ]] || return 0
  local diff
  diff="$(diff "$saved" <(host_snapshot) || true)"
  rm -f "$saved"
  if [[ -n "$diff" ]]; then
    log "error: the host differs from before 'up' (< before, > now):"
    printf '%s\n' "$diff" >&2
    return 1
  fi
  log "host state (iptables, links, addresses, routes, mounts, sysctls, folders, cgroups) is as before 'up'"
}

cmd_env() {
  [[ -f "$CLUSTER_STATE/bin" ]] || die "no cluster is up ($CLUSTER_STATE/bin missing): run '$0 up'"
  local skaffold="" v
  for v in "$CLUSTER_CACHE"/skaffold/*/skaffold; do [[ -x "$v" ]] && skaffold="$(dirname "$v"):"; done
  cat <<ENV
export KUBECONFIG=$CLUSTER_KUBECONFIG
export PATH=$(cat "$CLUSTER_STATE/bin"):$skaffold\$PATH
export CONTAINERD_ADDRESS=$CLUSTER_CONTAINERD_SOCK
export CONTAINERD_NAMESPACE=k8s.io
ENV
  if [[ -S "$CLUSTER_DOCKER_SOCK" ]]; then echo "export DOCKER_HOST=unix://$CLUSTER_DOCKER_SOCK"; fi
  # Skaffold reads its flags from SKAFFOLD_* too. Its artifact cache lives with this cluster: a new
  # cluster's node has none of the images a cache in ~/.skaffold would call built, so the first run
  # builds (from docker's layer cache) and its build hook loads the image into the node. No update
  # check or survey prompt (no network to reach them).
  echo "export SKAFFOLD_CACHE_FILE=$CLUSTER_STATE/skaffold-cache.yaml SKAFFOLD_UPDATE_CHECK=false SKAFFOLD_INTERACTIVE=false"
  echo "export NSM_CLUSTER_STATE=$CLUSTER_STATE"
  # The Dockerfile's NODE_IMAGE here (skaffold.yaml's nsm-cluster profile reads it).
  echo "export NSM_CLUSTER_NODE_IMAGE=dev.local/node:$(tr -d ' \n\r' <"$CLUSTER_REPO_ROOT/.node-version" | sed 's/^v//')"
  echo "export NSM_CLUSTER_NODE_IP=$CLUSTER_NODE_IP"
}

cmd_status() {
  [[ -f "$CLUSTER_PIDS/order" ]] || { echo "down"; return 1; }
  local name rc=0
  for name in $(cat "$CLUSTER_PIDS/order"); do
    if proc_alive "$name"; then printf '%-26s running (pid %s)\n' "$name" "$(proc_pid "$name")"; else
      printf '%-26s NOT RUNNING\n' "$name"
      rc=1
    fi
  done
  return "$rc"
}

cmd_apiserver() {
  [[ -f "$CLUSTER_STATE/bin" ]] || die "no cluster is up ($CLUSTER_STATE/bin missing): run '$0 up'"
  local t0=$SECONDS
  proc_stop kube-apiserver
  controlplane_apiserver_up "$(cat "$CLUSTER_STATE/bin")" "$@"
  log "kube-apiserver restarted in $((SECONDS - t0))s${*:+ with $*}"
}

cmd_logs() {
  [[ -d "$CLUSTER_LOGS" ]] && ls -1 "$CLUSTER_LOGS"/*.log
  echo "pod logs: $CLUSTER_STATE/pod-logs (after down: $CLUSTER_CACHE/logs/last)"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  logs) cmd_logs ;;
  apiserver) shift; cmd_apiserver "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
