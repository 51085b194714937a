/**
 * A stand-in for NSM's own webhook (cmd-admission-webhook-k8s), to run beside ours against the real
 * apiserver: its image can't be pulled here (no container registry), so this answers as its main.go
 * does for Pods and Deployments, with the settings of NSM's own Deployment. What matters for the
 * side-by-side tests: it writes no mark of its own, never checks for containers already there, and
 * replaces whole lists with its `add` operations, so a second injection duplicates names.
 */
import {randomUUID} from 'node:crypto';
import {createServer, type Server} from 'node:https';
import type {AddressInfo} from 'node:net';
import type {Container, Pod, PodTemplateSpec} from 'kubernetes-types/core/v1';
import {makeTestCerts} from '../../support/test-ca';

const ANNOTATION = 'networkservicemesh.io';
const MOUNTS = [
  {name: 'spire-agent-socket', mountPath: '/run/spire/sockets', readOnly: true},
  {name: 'nsm-socket', mountPath: '/var/lib/networkservicemesh', readOnly: true},
];
const VOLUMES = [
  {name: 'spire-agent-socket', hostPath: {path: '/run/spire/sockets', type: 'Directory'}},
  {name: 'nsm-socket', hostPath: {path: '/var/lib/networkservicemesh', type: 'Directory'}},
];
const RESOURCES = {requests: {cpu: '100m', memory: '40Mi'}, limits: {cpu: '200m', memory: '80Mi'}};

function container(image: string, services: string, nsmName: string): Container {
  return {
    name: image.split('/').pop()?.split(':')[0] ?? '',
    image,
    imagePullPolicy: 'IfNotPresent',
    env: [
      {name: 'NSM_LOG_LEVEL', value: 'TRACE'},
      {name: 'SPIFFE_ENDPOINT_SOCKET', value: 'unix:///run/spire/sockets/agent.sock'},
      {name: 'POD_NAME', valueFrom: {fieldRef: {fieldPath: 'metadata.name'}}},
      {name: 'NSM_NETWORK_SERVICES', value: services},
      {name: 'NSM_NAME', value: nsmName},
    ],
    resources: RESOURCES,
    volumeMounts: MOUNTS,
  };
}

/** NSM's patch for one pod template at `base` ('' for a Pod, '/spec/template' for a workload). */
function patchFor(template: PodTemplateSpec, services: string, base: string): unknown[] {
  const nsmName = template.metadata?.generateName ? '$(POD_NAME)' : `$(POD_NAME)-${randomUUID()}`;
  const spec = template.spec;
  return [
    {op: 'add', path: `${base}/spec/initContainers`, value: [...(spec?.initContainers ?? []), container('ghcr.io/networkservicemesh/cmd-nsc-init:v1.18.0', services, nsmName)]},
    {op: 'add', path: `${base}/spec/containers`, value: [...(spec?.containers ?? []), container('ghcr.io/networkservicemesh/cmd-nsc:v1.18.0', services, nsmName)]},
    {op: 'add', path: `${base}/spec/volumes`, value: [...(spec?.volumes ?? []), ...VOLUMES]},
    {op: 'add', path: `${base}/metadata/labels`, value: {...template.metadata?.labels, 'spiffe.io/spiffe-id': 'true'}},
  ];
}

/** NSM's decision: a Pod's own annotation; a Deployment's, only when its template has no annotations at all. */
function mutation(kind: string, object: Pod & {spec: {template?: PodTemplateSpec}}): unknown[] {
  if (kind === 'Pod') {
    const services = object.metadata?.annotations?.[ANNOTATION] ?? '';
    return services === '' ? [] : patchFor(object, services, '');
  }
  const template = object.spec.template;
  if (kind !== 'Deployment' || template === undefined || template.metadata?.annotations !== undefined) return [];
  const services = object.metadata?.annotations?.[ANNOTATION] ?? '';
  return services === '' ? [] : patchFor(template, services, '/spec/template');
}

export interface FakeNsmWebhook {
  readonly url: string;
  readonly caPem: string;
  close(): Promise<void>;
}

export async function startFakeNsmWebhook(): Promise<FakeNsmWebhook> {
  const certs = makeTestCerts('fake-nsm-webhook-ca');
  const server: Server = createServer({cert: certs.certPem, key: certs.keyPem}, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString()) as {request: {uid: string; operation: string; kind: {kind: string}; object: Pod & {spec: {template?: PodTemplateSpec}}}};
      const ops = review.request.operation === 'CREATE' ? mutation(review.request.kind.kind, review.request.object) : [];
      const response = {uid: review.request.uid, allowed: true, ...(ops.length > 0 ? {patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64')} : {})};
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response}));
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate`,
    caPem: certs.caPem,
    close: async () => {
      server.closeAllConnections();
      await new Promise(r => server.close(r));
    },
  };
}

/**
 * NSM's MutatingWebhookConfiguration as deployments-k8s ships it (apps/admission-webhook-k8s/
 * mutating-webhook-config.yaml: same name, failurePolicy Fail, reinvocationPolicy Never, CREATE and
 * UPDATE of pods and apps workloads), its clientConfig pointed at the stand-in and its namespaces
 * narrowed to `namespace`.
 */
export function nsmWebhookConfiguration(webhook: FakeNsmWebhook, namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {name: 'nsm-mutating-webhook'},
    webhooks: [
      {
        name: 'nsm-mutating-webhook.networkservicemesh.io',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        reinvocationPolicy: 'Never',
        matchPolicy: 'Equivalent',
        timeoutSeconds: 10,
        clientConfig: {url: webhook.url, caBundle: Buffer.from(webhook.caPem).toString('base64')},
        rules: [
          {operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: '*'},
          {operations: ['CREATE', 'UPDATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], scope: '*'},
        ],
        namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': namespace}},
      },
    ],
  };
}
