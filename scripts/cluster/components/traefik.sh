# Traefik (sourced by cluster.sh; runs when CLUSTER_COMPONENTS has traefik, after knative: its Knative
# provider watches Knative's KIngress CRD): Knative's networking layer here (no Envoy exists on these
# machines for Kourier, Contour or Istio). Its CRDs and image come from scripts/cluster/build-traefik.sh,
# its Deployment and Services from components/traefik.yaml.
# shellcheck shell=bash

traefik_build() { TRAEFIK_DIR="$("$CLUSTER_SCRIPTS/build-traefik.sh" | tail -1)"; }

traefik_up() {
  local t0=$SECONDS
  node_import_images "$TRAEFIK_DIR/traefik.tar"
  kubectl apply --server-side --force-conflicts -f "$TRAEFIK_DIR/crds.yaml" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null
  sed -e "s#@IMAGE@#dev.local/traefik:$(basename "$TRAEFIK_DIR")#" "$CLUSTER_SCRIPTS/components/traefik.yaml" | kubectl apply -f - >/dev/null
  wait_for "traefik ready" 120 kubelet kubectl -n traefik rollout status deploy/traefik --timeout=2s
  log "traefik $(basename "$TRAEFIK_DIR") up in $((SECONDS - t0))s"
}
