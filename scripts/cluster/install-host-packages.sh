#!/usr/bin/env bash
# Installs the Debian packages the real-cluster harness runs on (containerd, runc, CNI plugins, iptables, conntrack, docker.io); ~60 s once, <1 s when present.
#
# Idempotent: packages already installed are not touched, and `apt-get update` only runs when
# something is missing. Services are never started by the packages (the harness runs containerd and
# dockerd itself, with its own sockets and state; this machine kind has no init system anyway).
#
#   containerd, runc               the kubelet's container runtime (CRI), and the runtime it drives
#   containernetworking-plugins    bridge, host-local, loopback, portmap (in /usr/lib/cni)
#   iptables, conntrack            kube-proxy's Service rules and its conntrack cleanup
#   nftables                       `nft`, to drop the iptables-nft tables left empty after teardown
#   docker.io                      builds the injector's image from the project's Dockerfile, and is
#                                  Skaffold's local builder (docs/deploy.md says why docker over buildah)
#   openssl, util-linux, iproute2, curl   certificates; flock, mount; ip; health checks
set -euo pipefail

log() { printf '[install-host-packages] %s\n' "$*" >&2; }

packages=(containerd runc containernetworking-plugins iptables nftables conntrack docker.io openssl util-linux iproute2 curl)

if [[ "$(id -u)" != 0 ]]; then
  log "error: the real-cluster harness needs root (it runs a kubelet, containerd and iptables)"
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || { log "error: needs apt-get (Debian or Ubuntu)"; exit 1; }

missing=()
for p in "${packages[@]}"; do
  # "install ok installed" is the only status of a fully installed package.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then missing+=("$p"); fi
done
if ((${#missing[@]} == 0)); then
  log "all present: ${packages[*]}"
  exit 0
fi

t0=$SECONDS
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# policy-rc.d answering 101 ("action forbidden") keeps the packages' postinst scripts from starting
# containerd or dockerd with their default config; an existing policy-rc.d is kept as it is.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
fi
trap '[[ $added_policy == 1 ]] && rm -f "$policy"' EXIT
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
log "installed in $((SECONDS - t0))s"
