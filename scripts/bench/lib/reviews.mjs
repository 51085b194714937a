/**
 * The AdmissionReviews the benchmarks send: built in code, deterministic, no files.
 *
 *   typical   a Pod CREATE as the kube-apiserver sends it after defaulting, asking for one
 *             network service: one container with a few env vars, ports, resources, the
 *             ServiceAccount token volume (~1.7 KB of JSON)
 *   pod(c, e) the same pod with `c` containers of `e` env vars each (the huge pod and the sweeps)
 *   not-requested  the typical review without the annotation: a pod that does not ask for NSM
 */

const UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

function env(count, prefix) {
  const out = [];
  for (let i = 0; i < count; i++) out.push({name: `${prefix}_VAR_${i}`, value: `value-${i}`});
  return out;
}

function container(index, envCount) {
  const name = index === 0 ? 'app' : `app-${index}`;
  return {
    name,
    image: 'ghcr.io/acme/finance-api:1.42',
    imagePullPolicy: 'IfNotPresent',
    ports: [{name: 'http', containerPort: 8080, protocol: 'TCP'}],
    env: env(envCount, name.toUpperCase().replace(/-/g, '_')),
    resources: {requests: {cpu: '100m', memory: '128Mi'}, limits: {memory: '256Mi'}},
    volumeMounts: [{name: 'kube-api-access-x7k2p', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount'}],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
}

/** A pod CREATE review with `containers` containers of `envPerContainer` env vars each. */
export function podReview(containers, envPerContainer) {
  const list = [];
  for (let i = 0; i < containers; i++) list.push(container(i, envPerContainer));
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: UID,
      kind: {group: '', version: 'v1', kind: 'Pod'},
      resource: {group: '', version: 'v1', resource: 'pods'},
      name: 'finance-api-7d9f8b6c5-x2x4q',
      namespace: 'apps',
      operation: 'CREATE',
      userInfo: {username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts', 'system:authenticated']},
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'finance-api-7d9f8b6c5-x2x4q',
          namespace: 'apps',
          labels: {app: 'finance-api', 'pod-template-hash': '7d9f8b6c5'},
          annotations: {'networkservicemesh.io': 'kernel://icmp-responder/nsm-1'},
        },
        spec: {
          volumes: [{name: 'kube-api-access-x7k2p', projected: {sources: [{serviceAccountToken: {expirationSeconds: 3607, path: 'token'}}], defaultMode: 420}}],
          containers: list,
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          serviceAccountName: 'default',
          securityContext: {},
          schedulerName: 'default-scheduler',
          priority: 0,
          enableServiceLinks: true,
          preemptionPolicy: 'PreemptLowerPriority',
        },
      },
      dryRun: false,
      options: {kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1'},
    },
  };
}

/** The typical review: one container with 3 env vars (~1.7 KB of JSON). */
export const typicalReview = () => podReview(1, 3);

/** The typical review of a pod that does not ask for NSM (no annotation): the common case. */
export function notRequestedReview() {
  const review = typicalReview();
  delete review.request.object.metadata.annotations;
  return review;
}

/** The cases of the core benchmark, in table order. `scale`: the sweep's multiplier, for the linearity check. */
export function coreCases() {
  return [
    {id: 'typical', label: 'typical pod (1 container, 3 env)', review: typicalReview()},
    {id: 'huge', label: 'huge pod (30 containers x 50 env = 1,500 env)', review: podReview(30, 50), envVars: 1500},
    {id: 'huge45k', label: 'huge pod (30 containers x 1,500 env = 45,000 env)', review: podReview(30, 1500), envVars: 45000},
    {id: 'sweep-c1', label: 'sweep containers 1x (1 x 15 env)', review: podReview(1, 15), sweep: 'containers', scale: 1},
    {id: 'sweep-c10', label: 'sweep containers 10x (10 x 15 env)', review: podReview(10, 15), sweep: 'containers', scale: 10},
    {id: 'sweep-c100', label: 'sweep containers 100x (100 x 15 env)', review: podReview(100, 15), sweep: 'containers', scale: 100},
    {id: 'sweep-e1', label: 'sweep env 1x (1 x 15 env)', review: podReview(1, 15), sweep: 'env', scale: 1},
    {id: 'sweep-e10', label: 'sweep env 10x (1 x 150 env)', review: podReview(1, 150), sweep: 'env', scale: 10},
    {id: 'sweep-e100', label: 'sweep env 100x (1 x 1,500 env)', review: podReview(1, 1500), sweep: 'env', scale: 100},
  ];
}
