# CoreDNS (sourced by cluster.sh; runs when CLUSTER_COMPONENTS has coredns): the cluster DNS, as a pod
# behind the kube-dns Service at $CLUSTER_DNS_IP, which the kubelet (started with clusterDNS when this
# component is asked for) writes into every pod's resolv.conf. Built by scripts/cluster/build-coredns.sh.
# shellcheck shell=bash

coredns_build() { COREDNS_DIR="$("$CLUSTER_SCRIPTS/build-coredns.sh" | tail -1)"; }

coredns_up() {
  local t0=$SECONDS image
  image="dev.local/coredns:$(basename "$COREDNS_DIR")"
  node_import_images "$COREDNS_DIR/coredns.tar"
  sed -e "s#@IMAGE@#$image#" -e "s#@DNS_IP@#$CLUSTER_DNS_IP#" "$CLUSTER_SCRIPTS/components/coredns.yaml" | kubectl apply -f - >/dev/null
  wait_for "CoreDNS ready" 120 kubelet kubectl -n kube-system rollout status deploy/coredns --timeout=2s
  log "coredns $(basename "$COREDNS_DIR") up in $((SECONDS - t0))s (kube-dns at $CLUSTER_DNS_IP)"
}
