/**
 * Namespace metadata read through the real API with the function's own ServiceAccount token and
 * exactly the RBAC the manifests grant: inheritance, Pod Security admission, and the fallback.
 */
import type {Container, Pod} from 'kubernetes-types/core/v1';
import {isStatus, KubeClient} from './harness/kube';
import {INJECTOR_NAMESPACE, startCluster, type Cluster} from './support/cluster';
import {collectionPath, pick, render} from './support/manifests';

const NSM = 'networkservicemesh.io';
const names = (cs: Container[] | undefined): string[] => (cs ?? []).map(c => c.name);
const pod = (name: string, annotations: Record<string, string> = {}, spec: Partial<Pod['spec']> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {name, annotations},
  spec: {containers: [{name: 'app', image: 'alpine:3.20'}], ...spec},
});

let cluster: Cluster;
beforeAll(async () => (cluster = await startCluster()));
afterAll(async () => cluster?.stop());

it('injects a plain pod in an annotated namespace, and lets a pod opt out with an empty annotation', async () => {
  await cluster.namespace('opted-in', {annotations: {[NSM]: 'kernel://ns-wide/nsm-1'}});
  const inherits = await cluster.admin.create<Pod>('/api/v1/namespaces/opted-in/pods', pod('inherits'));
  expect(names(inherits.spec?.containers)).toEqual(['app', 'cmd-nsc']);
  expect(inherits.spec?.containers[1]?.env?.find(e => e.name === 'NSM_NETWORK_SERVICES')?.value).toBe('kernel://ns-wide/nsm-1');
  const optsOut = await cluster.admin.create<Pod>('/api/v1/namespaces/opted-in/pods', pod('opts-out', {[NSM]: ''}));
  expect(names(optsOut.spec?.containers)).toEqual(['app']);
  const decision = cluster.webhook.logs().find(l => l['message'] === 'admission decision' && l['name'] === 'inherits');
  expect(decision).toMatchObject({decision: 'injected', requestedBy: 'namespace'});
});

it('injects CSI volumes and a restricted security context in a restricted namespace, and Pod Security admission accepts the pod', async () => {
  await cluster.namespace('secure', {labels: {'pod-security.kubernetes.io/enforce': 'restricted'}});
  const restrictedApp: Partial<Pod['spec']> = {
    securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: 'RuntimeDefault'}},
    containers: [{name: 'app', image: 'alpine:3.20', securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}}}],
  };
  const stored = await cluster.admin.create<Pod>('/api/v1/namespaces/secure/pods', pod('restricted', {[NSM]: 'kernel://a/nsm-1'}, restrictedApp));
  expect(names(stored.spec?.containers)).toEqual(['app', 'cmd-nsc']);
  expect(stored.spec?.volumes?.filter(v => v.csi).map(v => [v.name, v.csi?.driver, v.csi?.readOnly])).toEqual([
    ['spire-agent-socket', 'csi.spiffe.io', true],
    ['nsm-socket', 'csi.networkservicemesh.io', true],
  ]);
  expect(stored.spec?.volumes?.some(v => v.hostPath)).toBe(false);
  // The control: the same pod with hostPath volumes is what Pod Security admission refuses here.
  const error = await cluster.admin
    .create('/api/v1/namespaces/secure/pods', {...pod('hostpath', {}, restrictedApp), spec: {...restrictedApp, volumes: [{name: 'h', hostPath: {path: '/run/spire/sockets'}}]}})
    .then(() => undefined, (e: unknown) => e);
  expect(isStatus(error, 403)).toBe(true);
  expect(String(error)).toMatch(/violates PodSecurity "restricted:latest"/);
});

it("the function's ServiceAccount can get namespaces and nothing more", async () => {
  const sa = pick(render('deployment'), 'ServiceAccount');
  const token = await cluster.admin.createServiceAccountToken(INJECTOR_NAMESPACE, sa.metadata.name);
  const asInjector = new KubeClient({url: cluster.cp.url, caPem: cluster.cp.caPem, token});
  await expect(asInjector.get('/api/v1/namespaces/opted-in')).resolves.toMatchObject({metadata: {name: 'opted-in'}});
  for (const [method, path] of [
    ['GET', '/api/v1/namespaces'],
    ['GET', '/api/v1/namespaces/opted-in/secrets'],
    ['GET', '/api/v1/namespaces/opted-in/pods'],
    ['PATCH', '/api/v1/namespaces/opted-in'],
  ] as const) {
    const error = await asInjector.request(method, path, method === 'PATCH' ? {} : undefined, {}, 'application/merge-patch+json').then(() => undefined, (e: unknown) => e);
    expect([method, path, isStatus(error, 403)]).toEqual([method, path, true]);
  }
});

it('falls back when the lookup fails (RBAC revoked): the pod is still answered and the warning reaches the client', async () => {
  const binding = pick(render('deployment'), 'ClusterRoleBinding');
  await cluster.admin.delete(`${collectionPath(binding)}/${binding.metadata.name}`);
  try {
    // A namespace the function has never looked up (nothing cached).
    await cluster.namespace('after-revoke', {annotations: {[NSM]: 'kernel://ns-wide/nsm-1'}});
    const client = cluster.admin;
    const before = client.warnings.length;
    const plain = await client.create<Pod>('/api/v1/namespaces/after-revoke/pods', pod('plain'));
    expect(names(plain.spec?.containers)).toEqual(['app']);
    const annotated = await client.create<Pod>('/api/v1/namespaces/after-revoke/pods', pod('annotated', {[NSM]: 'kernel://a/nsm-1'}));
    expect(names(annotated.spec?.containers)).toEqual(['app', 'cmd-nsc']);
    const warnings = client.warnings.slice(before).join('\n');
    expect(warnings).toMatch(/a namespace-wide request for network services, if any, was not applied \(could not read namespace after-revoke: HTTP 403: namespaces \\"after-revoke\\" is forbidden/);
    expect(warnings).toMatch(/injected for the privileged Pod Security level, the cluster default \(could not read namespace after-revoke: HTTP 403/);
  } finally {
    await cluster.admin.create(collectionPath(binding), binding);
  }
});
