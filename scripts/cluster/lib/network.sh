# The node's network on the host (sourced): the node bridge holding the node IP, the pod bridge's
# CNI config, the route to the Service range, forwarding, and an isolation chain; and their removal.
# shellcheck shell=bash

# The harness's own iptables chain, jumped to from the mangle table's FORWARD chain (which runs before
# the filter table, where kube-proxy inserts its own ACCEPT rules ahead of anyone else's): forwarded
# traffic may only go from the pod bridge to the pod bridge (a pod calling a Service whose endpoint is
# another pod). Anything else forwarded into or out of the pod bridge is dropped, so turning on
# ip_forward never lets a pod reach, or be reached from, outside this machine.
NET_CHAIN=NSM-CLUSTER-ISOLATION

net_up() {
  modprobe br_netfilter 2>/dev/null || true
  if ! ip link show "$CLUSTER_NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$CLUSTER_NODE_BRIDGE" type bridge
  fi
  ip addr replace "$CLUSTER_NODE_IP/${CLUSTER_NODE_NET#*/}" dev "$CLUSTER_NODE_BRIDGE"
  ip link set "$CLUSTER_NODE_BRIDGE" up
  # The host reaches Services through the node bridge, from the node IP: kube-proxy's DNAT then sends
  # the packet to the pod, and the pod answers the node IP through its gateway. Without this route the
  # host would pick eth0's default route and address, which pods can't answer.
  ip route replace "$CLUSTER_SERVICE_CIDR" dev "$CLUSTER_NODE_BRIDGE" src "$CLUSTER_NODE_IP"

  # A pod calling a Service backed by a pod on the same bridge is routed by the host (and DNATed by
  # kube-proxy on the bridge), which needs forwarding and bridged traffic seen by iptables.
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 >/dev/null

  iptables -t mangle -N "$NET_CHAIN" 2>/dev/null || iptables -t mangle -F "$NET_CHAIN"
  iptables -t mangle -A "$NET_CHAIN" -i "$CLUSTER_POD_BRIDGE" -o "$CLUSTER_POD_BRIDGE" -j RETURN
  iptables -t mangle -A "$NET_CHAIN" -i "$CLUSTER_POD_BRIDGE" -j DROP
  iptables -t mangle -A "$NET_CHAIN" -o "$CLUSTER_POD_BRIDGE" -j DROP
  iptables -t mangle -C FORWARD -j "$NET_CHAIN" 2>/dev/null || iptables -t mangle -I FORWARD 1 -j "$NET_CHAIN"

  mkdir -p "$CLUSTER_STATE/cni/net.d" "$CLUSTER_STATE/cni/ipam"
  # The CNI bridge plugin makes the pod bridge with the gateway address on it when the first pod
  # starts. No ipMasq (no NAT), and routes to the three cluster ranges only: no default route.
  cat >"$CLUSTER_STATE/cni/net.d/10-nsm-cluster.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "nsm-cluster",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CLUSTER_POD_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CLUSTER_STATE/cni/ipam",
        "ranges": [[{"subnet": "$CLUSTER_POD_CIDR", "gateway": "$CLUSTER_POD_GATEWAY"}]],
        "routes": [{"dst": "$CLUSTER_SERVICE_CIDR"}, {"dst": "$CLUSTER_NODE_NET"}]
      }
    }
  ]
}
CNI
}

# net_down: removes what net_up and the CNI plugin made (kube-proxy's rules are removed by its own
# --cleanup before this). Network namespaces left by killed pods are deleted by the caller first.
net_down() {
  if iptables -t mangle -L "$NET_CHAIN" -n >/dev/null 2>&1; then
    while iptables -t mangle -D FORWARD -j "$NET_CHAIN" 2>/dev/null; do :; done
    iptables -t mangle -F "$NET_CHAIN" && iptables -t mangle -X "$NET_CHAIN"
  fi
  local link
  for link in "$CLUSTER_POD_BRIDGE" "$CLUSTER_NODE_BRIDGE"; do
    ip link show "$link" >/dev/null 2>&1 && ip link delete "$link"
  done
  # Veths whose pod namespace is already gone disappear with it; any left on our bridge went with it.
  true
}
