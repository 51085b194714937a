# etcd, kube-apiserver, kube-controller-manager and kube-scheduler as host processes (sourced), from
# the one Kubernetes build the e2e suite also uses (scripts/build-controlplane.sh). They listen on the
# node IP only. The apiserver has the admission plugins of a kubeadm cluster (the defaults, PodSecurity
# among them, plus NodeRestriction) and reaches kubelets by their InternalIP (a node name would go to
# the host's resolver).
# shellcheck shell=bash

cp_curl() { curl -sf --cacert "$CLUSTER_PKI/ca.crt" --cert "$CLUSTER_PKI/admin.crt" --key "$CLUSTER_PKI/admin.key" "$@"; }

controlplane_up() {
  local bin="$1"
  proc_start etcd "$bin/etcd" --name=nsm-cluster --data-dir="$CLUSTER_STATE/etcd" \
    --listen-client-urls="http://$CLUSTER_NODE_IP:2379" --advertise-client-urls="http://$CLUSTER_NODE_IP:2379" \
    --listen-peer-urls="http://$CLUSTER_NODE_IP:2380" --initial-advertise-peer-urls="http://$CLUSTER_NODE_IP:2380" \
    --initial-cluster="nsm-cluster=http://$CLUSTER_NODE_IP:2380" --initial-cluster-state=new \
    --listen-metrics-urls="http://$CLUSTER_NODE_IP:2381" --unsafe-no-fsync --log-level=warn
  wait_for "etcd healthy" 60 etcd curl -sf "http://$CLUSTER_NODE_IP:2379/health"

  controlplane_apiserver_up "$bin"

  proc_start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$CLUSTER_STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$CLUSTER_STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$CLUSTER_STATE/controller-manager.kubeconfig" \
    --bind-address="$CLUSTER_NODE_IP" --leader-elect=false \
    --service-account-private-key-file="$CLUSTER_PKI/sa.key" --root-ca-file="$CLUSTER_PKI/ca.crt" \
    --use-service-account-credentials=true \
    --service-cluster-ip-range="$CLUSTER_SERVICE_CIDR" --cluster-cidr="$CLUSTER_POD_CIDR" --allocate-node-cidrs=false \
    --profiling=false
  proc_start kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig="$CLUSTER_STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$CLUSTER_STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig="$CLUSTER_STATE/scheduler.kubeconfig" \
    --bind-address="$CLUSTER_NODE_IP" --leader-elect=false --profiling=false
}

# controlplane_apiserver_up BIN [FLAG...]: kube-apiserver with the harness's flags and any extra ones
# (`cluster.sh apiserver FLAG...` restarts it with them, e.g. --enable-aggregator-routing=true), then
# waits until it is ready.
controlplane_apiserver_up() {
  local bin="$1"
  shift
  proc_start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers="http://$CLUSTER_NODE_IP:2379" \
    --bind-address="$CLUSTER_NODE_IP" --advertise-address="$CLUSTER_NODE_IP" --secure-port="$CLUSTER_APISERVER_PORT" \
    --cert-dir="$CLUSTER_STATE/apiserver-certs" \
    --client-ca-file="$CLUSTER_PKI/ca.crt" \
    --tls-cert-file="$CLUSTER_PKI/apiserver.crt" --tls-private-key-file="$CLUSTER_PKI/apiserver.key" \
    --kubelet-client-certificate="$CLUSTER_PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$CLUSTER_PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$CLUSTER_PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$CLUSTER_PKI/sa.pub" --service-account-signing-key-file="$CLUSTER_PKI/sa.key" \
    --service-cluster-ip-range="$CLUSTER_SERVICE_CIDR" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true --profiling=false "$@"
  wait_for "kube-apiserver ready" 90 "etcd kube-apiserver" cp_curl "$CLUSTER_APISERVER_URL/readyz"
}
