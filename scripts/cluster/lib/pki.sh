# The cluster's certificates and kubeconfigs (sourced), made with the openssl CLI: one CA signs the
# apiserver's serving certificate, every client certificate (the user is the CN, the groups the Os),
# the kubelet's serving certificate and the ServiceAccount token key pair stands beside them.
# ECDSA P-256, valid 30 days; a cluster lives for one test run or one developer session.
# shellcheck shell=bash

pki_openssl_cnf() { printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n' >"$CLUSTER_PKI/openssl.cnf"; }

# pki_issue NAME CN ORGS SANS: NAME.crt/NAME.key signed by the CA. ORGS: comma-separated groups (or
# ""). SANS: "" for a client certificate, else the server's subjectAltName list (DNS:x,IP:y).
pki_issue() {
  local cn="$2" orgs="$3" sans="$4" subj="" o f="$CLUSTER_PKI/$1"
  IFS=, read -ra o <<<"$orgs"
  for org in "${o[@]}"; do subj+="/O=$org"; done
  subj+="/CN=$cn"
  {
    echo 'basicConstraints=critical,CA:FALSE'
    echo 'keyUsage=critical,digitalSignature,keyEncipherment'
    if [[ -z "$sans" ]]; then echo 'extendedKeyUsage=clientAuth'; else
      echo 'extendedKeyUsage=serverAuth,clientAuth'
      echo "subjectAltName=$sans"
    fi
  } >"$f.ext"
  openssl req -config "$CLUSTER_PKI/openssl.cnf" -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$f.key" -out "$f.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$f.csr" -CA "$CLUSTER_PKI/ca.crt" -CAkey "$CLUSTER_PKI/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$f.ext" -out "$f.crt" 2>/dev/null
  rm -f "$f.csr" "$f.ext"
}

# pki_kubeconfig NAME: $CLUSTER_STATE/NAME.kubeconfig for the client certificate NAME.{crt,key}.
pki_kubeconfig() {
  cat >"$CLUSTER_STATE/$1.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: nsm-cluster
    cluster:
      server: $CLUSTER_APISERVER_URL
      certificate-authority: $CLUSTER_PKI/ca.crt
users:
  - name: $1
    user:
      client-certificate: $CLUSTER_PKI/$1.crt
      client-key: $CLUSTER_PKI/$1.key
contexts:
  - name: nsm-cluster
    context: {cluster: nsm-cluster, user: $1}
current-context: nsm-cluster
KUBECONFIG
  chmod 600 "$CLUSTER_STATE/$1.kubeconfig"
}

pki_make_all() {
  mkdir -p "$CLUSTER_PKI" && chmod 700 "$CLUSTER_PKI"
  pki_openssl_cnf
  openssl req -config "$CLUSTER_PKI/openssl.cnf" -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$CLUSTER_PKI/ca.key" -out "$CLUSTER_PKI/ca.crt" -days 30 -sha256 -subj /CN=nsm-cluster-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  pki_issue apiserver kube-apiserver "" \
    "IP:$CLUSTER_NODE_IP,IP:$CLUSTER_KUBERNETES_SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:$CLUSTER_NODE_NAME"
  # The apiserver's identity towards kubelets (logs, exec, port-forward).
  pki_issue apiserver-kubelet-client kube-apiserver-kubelet-client system:masters ""
  pki_issue kubelet-serving "$CLUSTER_NODE_NAME" "" "IP:$CLUSTER_NODE_IP,DNS:$CLUSTER_NODE_NAME"
  # Users the bootstrap RBAC policy already knows (kubeadm's identities).
  pki_issue admin nsm-cluster-admin system:masters ""
  pki_issue controller-manager system:kube-controller-manager "" ""
  pki_issue scheduler system:kube-scheduler "" ""
  pki_issue kubelet "system:node:$CLUSTER_NODE_NAME" system:nodes ""
  pki_issue kube-proxy system:kube-proxy "" ""
  openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$CLUSTER_PKI/sa.key"
  openssl ec -in "$CLUSTER_PKI/sa.key" -pubout -out "$CLUSTER_PKI/sa.pub" 2>/dev/null
  local user
  for user in admin controller-manager scheduler kubelet kube-proxy; do pki_kubeconfig "$user"; done
}
