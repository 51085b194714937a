# The node (sourced): containerd (Debian's, with the harness's own config, root and socket), the
# kubelet and kube-proxy; and their containers' teardown.
# shellcheck shell=bash

node_containerd_up() {
  local dir="$CLUSTER_STATE/containerd"
  mkdir -p "$dir"
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
# Snapshotters this host can't use, off so they don't log errors.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$CLUSTER_CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"

[plugins."io.containerd.grpc.v1.cri"]
  # Made by scripts/cluster/build-images.sh and imported: nothing is ever pulled.
  sandbox_image = "dev.local/pause:1"
  # This VM lacks CAP_SYS_RESOURCE: without it runc fails every sandbox writing oom_score_adj.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_STATE/cni/net.d"
TOML
  proc_start containerd containerd --config "$dir/config.toml"
  wait_for "containerd serving" 30 containerd ctr --address "$CLUSTER_CONTAINERD_SOCK" version
}

# node_import_images ARCHIVE...: into the CRI's namespace, where the kubelet finds them.
node_import_images() {
  local archive
  for archive in "$@"; do
    ctr --address "$CLUSTER_CONTAINERD_SOCK" -n k8s.io images import "$archive" >/dev/null
  done
}

node_kubelet_up() {
  local bin="$1" dir="$CLUSTER_STATE/kubelet"
  mkdir -p "$dir"
  # The host's resolver is not the pods': they get no upstream nameserver. With the coredns component
  # they get the cluster DNS (clusterDNS), which only knows the cluster's names; without it, none.
  : >"$CLUSTER_STATE/resolv.conf"
  local dns=""
  [[ ",$CLUSTER_COMPONENTS," == *,coredns,* ]] && dns="clusterDNS: [$CLUSTER_DNS_IP]"
  cat >"$dir/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $CLUSTER_NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: $CLUSTER_NODE_IP
healthzPort: 10248
tlsCertFile: $CLUSTER_PKI/kubelet-serving.crt
tlsPrivateKeyFile: $CLUSTER_PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CLUSTER_PKI/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$CLUSTER_CONTAINERD_SOCK
# This machine kind mounts the cgroup v1 hierarchies; kubelet >= 1.35 refuses them unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
# Every pod cgroup below /$CLUSTER_CGROUP, so that \`down\` removes one subtree per hierarchy.
cgroupRoot: /$CLUSTER_CGROUP
clusterDomain: cluster.local
$dns
resolvConf: $CLUSTER_STATE/resolv.conf
podLogsDir: $CLUSTER_STATE/pod-logs
volumePluginDir: $dir/volume-plugins
# A small shared VM: never evict for its normal disk or memory use, never garbage-collect the
# imported images (there is no registry to pull them back from).
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
failSwapOn: false
maxPods: 110
# The kubelet's default is 1 minute between ConfigMap/Secret volume refreshes; kept (docs/deploy.md
# states the delay operators see).
YAML
  mkdir -p /sys/fs/cgroup 2>/dev/null || true
  local h
  for h in /sys/fs/cgroup/*/; do
    [[ -f "$h/cgroup.procs" ]] && mkdir -p "$h$CLUSTER_CGROUP"
  done
  proc_start kubelet "$bin/kubelet" --config="$dir/config.yaml" --kubeconfig="$CLUSTER_STATE/kubelet.kubeconfig" \
    --root-dir="$dir/root" --cert-dir="$dir/pki" --hostname-override="$CLUSTER_NODE_NAME" --node-ip="$CLUSTER_NODE_IP" \
    --v=1
}

node_kube_proxy_up() {
  local bin="$1"
  cat >"$CLUSTER_STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $CLUSTER_STATE/kube-proxy.kubeconfig}
hostnameOverride: $CLUSTER_NODE_NAME
bindAddress: $CLUSTER_NODE_IP
healthzBindAddress: $CLUSTER_NODE_IP:10256
metricsBindAddress: $CLUSTER_NODE_IP:10249
clusterCIDR: $CLUSTER_POD_CIDR
# NodePorts only on the node IP (not 127.0.0.1, which would need route_localnet).
nodePortAddresses: ["$CLUSTER_NODE_IP/32"]
# 0: leave the host's conntrack table sizes and timeouts as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  proc_start kube-proxy "$bin/kube-proxy" --config="$CLUSTER_STATE/kube-proxy.yaml"
}

# node_containers_down: kills every container of the cluster's containerd (pods, and docker build
# containers in dockerd's namespace) and deletes their tasks, so their shims exit, then deletes the
# network namespaces their sandboxes held. Run with containerd still up, the kubelet already stopped.
node_containers_down() {
  local ns id
  [[ -S "$CLUSTER_CONTAINERD_SOCK" ]] || return 0
  for ns in $(ctr --address "$CLUSTER_CONTAINERD_SOCK" namespaces ls -q 2>/dev/null); do
    for id in $(ctr --address "$CLUSTER_CONTAINERD_SOCK" -n "$ns" tasks ls -q 2>/dev/null); do
      ctr --address "$CLUSTER_CONTAINERD_SOCK" -n "$ns" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr --address "$CLUSTER_CONTAINERD_SOCK" -n "$ns" tasks ls -q 2>/dev/null); do
      ctr --address "$CLUSTER_CONTAINERD_SOCK" -n "$ns" tasks delete -f "$id" >/dev/null 2>&1 || true
    done
  done
}

# node_shims_down: shims that outlived their task (normally none), by the pid files containerd keeps.
node_shims_down() {
  local f pid
  for f in "$CLUSTER_STATE"/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [[ -f "$f" ]] || continue
    pid="$(cat "$f")"
    [[ -n "$pid" && -d "/proc/$pid" ]] && grep -q containerd-shim "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  true
}

# node_netns_down SNAPSHOT: deletes the CNI network namespaces (cni-*) the snapshot didn't list.
node_netns_down() {
  local ns
  for ns in /var/run/netns/cni-*; do
    [[ -e "$ns" ]] || continue
    ip netns delete "$(basename "$ns")" 2>/dev/null || { umount "$ns" 2>/dev/null; rm -f "$ns"; }
  done
}

# node_cgroups_down: removes the /$CLUSTER_CGROUP subtree in every hierarchy, deepest first (a cgroup
# can only be removed once it has no children and no processes).
node_cgroups_down() {
  local h
  for h in /sys/fs/cgroup/*/"$CLUSTER_CGROUP"; do
    [[ -d "$h" ]] || continue
    find "$h" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [[ -d "$h" ]] && log "warning: could not remove cgroup $h (processes still in it?)"
  done
  true
}

# node_unmount_state: every mount left under the state folder (pod volumes, rootfs overlays, shm),
# deepest first.
node_unmount_state() {
  local m
  for m in $(findmnt -rn -o TARGET | grep -F "$CLUSTER_STATE/" | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: could not unmount $m"
  done
}
