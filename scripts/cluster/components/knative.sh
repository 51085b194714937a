# Knative Serving (sourced by cluster.sh; runs when CLUSTER_COMPONENTS has knative, after coredns: its
# autoscaler and activator find each other and the revisions by name): upstream's config/core as pods
# from the images scripts/cluster/build-knative.sh makes, with Traefik (the traefik component) as its
# ingress class.
# shellcheck shell=bash

knative_build() { KNATIVE_DIR="$("$CLUSTER_SCRIPTS/build-knative.sh" | tail -1)"; }

knative_up() {
  local t0=$SECONDS d
  node_import_images "$KNATIVE_DIR"/images/*.tar
  kubectl apply --server-side --force-conflicts -f "$KNATIVE_DIR/yaml" >/dev/null
  for d in controller webhook activator autoscaler; do
    wait_for "knative $d ready" 180 kubelet kubectl -n knative-serving rollout status "deploy/$d" --timeout=2s
  done
  # Routes go to Traefik's Knative provider. Set once the webhook, which validates Knative's
  # ConfigMaps, serves.
  wait_for "knative webhook serving" 60 kubelet kubectl -n knative-serving patch configmap config-network --type merge \
    -p '{"data":{"ingress-class":"traefik.ingress.networking.knative.dev"}}'
  log "knative serving $(basename "$KNATIVE_DIR") up in $((SECONDS - t0))s"
}
