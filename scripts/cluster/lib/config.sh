# The real cluster's names, addresses and paths (sourced by cluster.sh and its parts). Every value can
# be overridden from the environment; the defaults are chosen to collide with nothing on this machine
# kind (eth0 is 192.0.2.0/24; the e2e suite's control planes listen on random 127.0.0.1 ports).
# shellcheck shell=bash disable=SC2034 # variables for the scripts that source this

# Everything a running cluster writes (state, sockets, pod volumes, logs) lives under here, and `down`
# removes it (after copying the logs to $CLUSTER_CACHE/logs/last). Fixed, because one cluster runs per
# machine: it owns bridges, iptables rules and sysctls.
CLUSTER_STATE="${CLUSTER_STATE:-/var/lib/nsm-cluster}"
CLUSTER_NODE_NAME="${CLUSTER_NODE_NAME:-nsm-node}"

# The node's address lives on a bridge of its own with no port (this kernel has no dummy links); the
# control plane, kubelet and kube-proxy listen on it only.
CLUSTER_NODE_BRIDGE="${CLUSTER_NODE_BRIDGE:-nsmc-node}"
CLUSTER_NODE_IP="${CLUSTER_NODE_IP:-10.213.0.10}"
CLUSTER_NODE_NET="${CLUSTER_NODE_NET:-10.213.0.0/24}"
# Pods: one bridge (the CNI bridge plugin's), no masquerade, and routes only to the pod, node and
# Service ranges (no default route): nothing a pod sends can leave the machine.
CLUSTER_POD_BRIDGE="${CLUSTER_POD_BRIDGE:-nsmc-pods}"
CLUSTER_POD_CIDR="${CLUSTER_POD_CIDR:-10.214.0.0/24}"
CLUSTER_POD_GATEWAY="${CLUSTER_POD_GATEWAY:-10.214.0.1}"
CLUSTER_SERVICE_CIDR="${CLUSTER_SERVICE_CIDR:-10.215.0.0/24}"
CLUSTER_KUBERNETES_SERVICE_IP="${CLUSTER_KUBERNETES_SERVICE_IP:-10.215.0.1}"
# The kube-dns Service's address, when CLUSTER_COMPONENTS has coredns (the kubelet's clusterDNS).
CLUSTER_DNS_IP="${CLUSTER_DNS_IP:-10.215.0.10}"
CLUSTER_APISERVER_PORT="${CLUSTER_APISERVER_PORT:-6443}"
CLUSTER_APISERVER_URL="https://$CLUSTER_NODE_IP:$CLUSTER_APISERVER_PORT"

# Optional parts, comma-separated, started in this order once the node is Ready (the control plane and
# the node always run): cert-manager (controller + cainjector + CRDs), docker (a dockerd on the
# cluster's containerd: image builds, Skaffold's local builder), and for the knative profile's suite
# (scripts/cluster/test.sh knative) coredns (cluster DNS), knative (Knative Serving) and traefik (its
# networking layer). Each is scripts/cluster/components/<name>.sh.
CLUSTER_COMPONENTS="${CLUSTER_COMPONENTS:-cert-manager,docker}"

# Paths inside the state folder.
CLUSTER_PKI="$CLUSTER_STATE/pki"
CLUSTER_LOGS="$CLUSTER_STATE/logs"
CLUSTER_PIDS="$CLUSTER_STATE/pids"
CLUSTER_KUBECONFIG="$CLUSTER_STATE/admin.kubeconfig"
CLUSTER_CONTAINERD_SOCK="$CLUSTER_STATE/containerd/containerd.sock"
CLUSTER_DOCKER_SOCK="$CLUSTER_STATE/docker/docker.sock"
# Debian's docker.io client, the daemon's own version (a newer docker CLI elsewhere on PATH may need
# plugins, e.g. buildx, that this machine doesn't have).
CLUSTER_DOCKER_CLI="${CLUSTER_DOCKER_CLI:-/usr/bin/docker}"
# dockerd's images and build cache persist across clusters (a rebuild reuses the npm ci layer).
CLUSTER_DOCKER_DATA="${CLUSTER_DOCKER_DATA:-$CLUSTER_CACHE/docker}"
# All pod (and docker build) cgroups go under this one, in every hierarchy: `down` removes it whole.
CLUSTER_CGROUP=nsm-cluster
# The folders NSM's node agents (spire-agent, nsmgr) make on a real node; the injected hostPath
# volumes (type: Directory) need them to exist. Made empty by `up` when missing, removed by `down`.
CLUSTER_NSM_HOST_DIRS="${CLUSTER_NSM_HOST_DIRS:-/run/spire/sockets /var/lib/networkservicemesh}"
