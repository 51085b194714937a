# cert-manager (sourced by cluster.sh; runs when CLUSTER_COMPONENTS has cert-manager): its CRDs, its
# controller and its cainjector (built by scripts/cluster/build-certmanager.sh from the cert-manager Go
# module) as host processes with the admin kubeconfig, like the control plane processes.
# shellcheck shell=bash

cert_manager_build() { CERTMANAGER_DIR="$("$CLUSTER_SCRIPTS/build-certmanager.sh" | tail -1)"; }

cert_manager_up() {
  local t0=$SECONDS
  kubectl apply --server-side --force-conflicts -f "$CERTMANAGER_DIR/crds" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null
  kubectl create namespace cert-manager --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  proc_start cert-manager-controller "$CERTMANAGER_DIR/controller" --kubeconfig="$CLUSTER_KUBECONFIG" \
    --cluster-resource-namespace=cert-manager --v=2
  KUBECONFIG="$CLUSTER_KUBECONFIG" proc_start cert-manager-cainjector "$CERTMANAGER_DIR/cainjector" --v=2
  # Both log once their informers run; waiting on that keeps `up` from returning before they act.
  wait_for "cert-manager controller running" 60 cert-manager-controller \
    grep -q "starting controllers" "$CLUSTER_LOGS/cert-manager-controller.log"
  wait_for "cert-manager cainjector running" 60 cert-manager-cainjector \
    grep -q "Starting workers" "$CLUSTER_LOGS/cert-manager-cainjector.log"
  log "cert-manager $(basename "$CERTMANAGER_DIR") up in $((SECONDS - t0))s"
}
