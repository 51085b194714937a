# dockerd (sourced by cluster.sh; runs when CLUSTER_COMPONENTS has docker): Debian's docker.io daemon on the
# cluster's own containerd, so `docker build` (and Skaffold's local builder) work here. It is told to
# leave the host's network alone (no bridge, no iptables rules, no forwarding or masquerade changes):
# builds run with --network=host, as the host's own traffic. Its images and build cache persist in
# $CLUSTER_DOCKER_DATA; docker's image store is not the kubelet's, so an image goes to the node with
# `docker save | ctr -n k8s.io images import` (scripts/cluster/load-image.sh).
# shellcheck shell=bash

docker_up() {
  mkdir -p "$CLUSTER_STATE/docker" "$CLUSTER_DOCKER_DATA"
  proc_start dockerd dockerd --containerd="$CLUSTER_CONTAINERD_SOCK" -H "unix://$CLUSTER_DOCKER_SOCK" \
    --data-root="$CLUSTER_DOCKER_DATA" --exec-root="$CLUSTER_STATE/docker/exec" \
    --pidfile="$CLUSTER_STATE/docker/dockerd.pid" --cgroup-parent="/$CLUSTER_CGROUP/docker" \
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false
  wait_for "dockerd serving" 60 dockerd "$CLUSTER_DOCKER_CLI" -H "unix://$CLUSTER_DOCKER_SOCK" version
  # The base image the Dockerfile's NODE_IMAGE names here.
  "$CLUSTER_DOCKER_CLI" -H "unix://$CLUSTER_DOCKER_SOCK" load -i "$CLUSTER_IMAGES/node.tar" >/dev/null
  log "docker: $(awk -F'\t' '$1 ~ /^dev.local\/node:/ { print $1 }' "$CLUSTER_IMAGES/images.tsv") loaded"
}
