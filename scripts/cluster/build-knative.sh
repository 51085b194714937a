#!/usr/bin/env bash
# Builds Knative Serving (test/cluster/knative): its five commands as images, and its install YAML; ~5 min cold on 2 cores (20 s with warm Go caches), <1 s cached.
#
# Output: .cache/cluster/knative/<serving version>/
#   images/<command>.tar   dev.local/knative-serving-<command>:<version> for controller, webhook,
#                          activator, autoscaler, queue (the queue-proxy every revision pod runs)
#   yaml/*.yaml            upstream's config/core (namespace, RBAC, CRDs, ConfigMaps, Deployments,
#                          webhooks), knative.dev/networking's config (the KIngress, Certificate,
#                          ServerlessService and ClusterDomainClaim CRDs, config-network) and
#                          knative.dev/caching's Image CRD (the controller watches it), with each
#                          `ko://knative.dev/serving/cmd/<command>` image reference replaced by the image
#                          above, as `ko resolve` does for a release. Left out: the HPAs (no metrics
#                          server here), the queue-proxy's Image (a cache hint nothing here reads) and the
#                          system-internal-tls Certificate (it needs net-certmanager).
# The last stdout line is that folder.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib/build.sh's log
LOG_TAG="build-knative"
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib/build.sh
source "$here/lib/build.sh"
# shellcheck source=lib/image.sh
source "$here/lib/image.sh"
command -v go >/dev/null 2>&1 || die "'go' not found in PATH"

commands=(controller webhook activator autoscaler queue)

# build OUT MODULE VERSION: the commands, one single-binary image each, and the rendered YAML.
build() {
  local out="$1" module="$2" version="$3" serving networking caching cmd f n=0
  log "building ${commands[*]}..."
  with_heartbeat "building knative serving" go_build_into "$out" "$module" "" "${commands[@]/#/knative.dev/serving/cmd/}" ||
    die "building knative serving failed"
  rm -rf "$out/images" && mkdir -p "$out/images"
  for cmd in "${commands[@]}"; do
    # ko's layout and user: KO_DATA_PATH for the commands that read it, non-root (the Deployments ask for it).
    binary_image "dev.local/knative-serving-$cmd:$version" "$out/$cmd" "/ko-app/$cmd" "$out/images/$cmd.tar" \
      "{\"Entrypoint\":[\"/ko-app/$cmd\"],\"Env\":[\"KO_DATA_PATH=/var/run/ko\"],\"User\":\"65532:65532\"}"
    rm -f "${out:?}/$cmd"
  done
  serving="$(cd "$module" && go list -m -f '{{.Dir}}' knative.dev/serving)/config/core"
  networking="$(cd "$module" && go list -m -f '{{.Dir}}' knative.dev/networking)/config"
  caching="$(cd "$module" && go list -m -f '{{.Dir}}' knative.dev/caching)/config"
  rm -rf "$out/yaml" && mkdir -p "$out/yaml"
  # Numbered in apply order: namespace, RBAC, CRDs, then what uses them.
  for f in "$serving"/100-namespace.yaml "$serving"/200-*.yaml "$serving"/200-roles/*.yaml \
    "$networking"/{certificate,ingress,serverlessservice,domain-claim}.yaml "$caching"/image.yaml "$serving"/300-resources/*.yaml \
    "$serving"/configmaps/*.yaml "$networking"/config-network.yaml \
    "$serving"/deployments/{controller,webhook,activator,autoscaler}.yaml "$serving"/webhooks/*.yaml; do
    n=$((n + 1))
    sed -E "s#ko://knative\.dev/serving/cmd/([a-z-]+)#dev.local/knative-serving-\1:$version#g" "$f" \
      >"$out/yaml/$(printf '%02d' "$n")-$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  ! grep -rq 'ko://' "$out/yaml" || die "an image reference was left unresolved in $out/yaml"
}

cached_module_build knative "$CLUSTER_REPO_ROOT/test/cluster/knative" knative.dev/serving build \
  images/controller.tar images/webhook.tar images/activator.tar images/autoscaler.tar images/queue.tar yaml
