#!/usr/bin/env bash
# Copies images from the cluster's dockerd into the kubelet's containerd (docker save | ctr import); ~5 s for the injector's image.
#
#   scripts/cluster/load-image.sh IMAGE...
#
# dockerd (20.10) keeps its own image store; the kubelet only sees containerd's `k8s.io` namespace.
# With no registry, this is how a built image reaches the node, the way `kind load docker-image` does
# for kind. Skaffold calls it after each build when the kube-context is this cluster's (skaffold.yaml,
# profile nsm-cluster). Each image goes with every tag it has in docker: Skaffold deploys an image it
# did not push as <name>:<image id>, a tag it adds after the build, while its build hook is only told
# the <name>:<input digest> tag.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="load-image"
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib/build.sh
source "$here/lib/build.sh"
# shellcheck source=lib/config.sh
source "$here/lib/config.sh"
(($# > 0)) || die "usage: $0 IMAGE..."
[[ -S "$CLUSTER_CONTAINERD_SOCK" ]] || die "no cluster containerd at $CLUSTER_CONTAINERD_SOCK: run scripts/cluster/cluster.sh up"
[[ -S "$CLUSTER_DOCKER_SOCK" ]] || die "no cluster dockerd at $CLUSTER_DOCKER_SOCK (CLUSTER_COMPONENTS needs docker)"
t0=$SECONDS
export DOCKER_HOST="unix://$CLUSTER_DOCKER_SOCK"
names=()
for image in "$@"; do
  # shellcheck disable=SC2207 # tags never contain spaces
  names+=($("$CLUSTER_DOCKER_CLI" image inspect -f '{{join .RepoTags " "}}' "$image"))
done
"$CLUSTER_DOCKER_CLI" save "${names[@]}" | ctr --address "$CLUSTER_CONTAINERD_SOCK" -n k8s.io images import - >/dev/null
log "loaded ${names[*]} into the node in $((SECONDS - t0))s"
