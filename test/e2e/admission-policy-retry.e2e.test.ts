/**
 * Controllers retry what the policy refuses: with a real kube-controller-manager, a Deployment scaled to
 * 10 while the function is down gets no pod at all (none stored without sidecars), and once the function
 * is back the ReplicaSet controller's backoff brings every pod, each one injected. The time that takes is
 * printed (and quoted in docs/reliability.md), never asserted.
 */
import type {ReplicaSet} from 'kubernetes-types/apps/v1';
import type {Pod} from 'kubernetes-types/core/v1';
import {policyChecks} from './support/admission-policy';
import {eventually, startCluster, type Cluster} from './support/cluster';

const NSM = 'networkservicemesh.io';
const STATUS = 'sidecar-injector.networkservicemesh.io/status';
const POLICY = 'nsm-sidecar-injector';
const REPLICAS = 10;
/** How long the function stays down after the scale-up: long enough for the backoff to grow to seconds. */
const OUTAGE_MS = 20_000;
const REFUSAL = /is forbidden: ValidatingAdmissionPolicy 'nsm-sidecar-injector' with binding 'nsm-sidecar-injector' denied request: this pod asks for network services \(its networkservicemesh\.io annotation\) .* Its controller will create it again \(with backoff\)/;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({admissionPolicy: true, controllerManager: true});
  await cluster.namespace('apps');
});
afterAll(async () => cluster?.stop());

const DEPLOYMENTS = '/apis/apps/v1/namespaces/apps/deployments';
const injected = (p: Pod): boolean => p.metadata?.annotations?.[STATUS] !== undefined && (p.spec?.containers ?? []).some(c => c.name === 'cmd-nsc');

async function webPods(): Promise<Pod[]> {
  const pods = (await cluster.admin.list<Pod>('/api/v1/namespaces/apps/pods', {query: {labelSelector: 'app=web'}})).items;
  // The claim under test: no pod of it is ever stored without its sidecars, not even for a moment.
  const bare = pods.filter(p => !injected(p)).map(p => p.metadata?.name);
  if (bare.length > 0) throw new Error(`stored without sidecars: ${bare.join(', ')}`);
  return pods;
}

it(`a Deployment scaled to ${REPLICAS} while the function is down ends with ${REPLICAS} injected pods once it is back`, async () => {
  await cluster.webhook.stop();
  const denialsBefore = await policyChecks(cluster.admin, POLICY, 'deny');
  // The annotation on the pod template (the template is not injected: the webhook is down when the
  // Deployment and its ReplicaSet are created, so each pod must be injected when it is created).
  await cluster.admin.create(DEPLOYMENTS, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name: 'web'},
    spec: {
      replicas: 1,
      selector: {matchLabels: {app: 'web'}},
      template: {metadata: {labels: {app: 'web'}, annotations: {[NSM]: 'kernel://icmp-responder/nsm-1'}}, spec: {containers: [{name: 'app', image: 'alpine:3.20'}]}},
    },
  });
  await eventually('the first refusal', async () => ((await policyChecks(cluster.admin, POLICY, 'deny')) > denialsBefore ? true : undefined), 60_000);
  await cluster.admin.patch(`${DEPLOYMENTS}/web`, {spec: {replicas: REPLICAS}});
  const scaledAt = Date.now();
  while (Date.now() - scaledAt < OUTAGE_MS) {
    expect(await webPods()).toEqual([]);
    await new Promise(r => setTimeout(r, 1000));
  }
  const refusedWhileDown = (await policyChecks(cluster.admin, POLICY, 'deny')) - denialsBefore;
  // What an operator sees meanwhile: the ReplicaSet's FailedCreate events and its ReplicaFailure condition carry the policy's message.
  const events = (await cluster.admin.list<{reason?: string; message?: string; involvedObject?: {kind?: string}}>('/api/v1/namespaces/apps/events')).items;
  expect(events.filter(e => e.reason === 'FailedCreate' && e.involvedObject?.kind === 'ReplicaSet').map(e => e.message)).toContainEqual(expect.stringMatching(REFUSAL));
  const replicaSets = (await cluster.admin.list<ReplicaSet>('/apis/apps/v1/namespaces/apps/replicasets')).items;
  expect(replicaSets).toHaveLength(1);
  expect(replicaSets[0]?.status?.conditions).toContainEqual(expect.objectContaining({type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: expect.stringMatching(REFUSAL)}));

  await cluster.startWebhook();
  const backAt = Date.now();
  let firstPodMs: number | undefined;
  const pods = await eventually(
    `${REPLICAS} injected pods`,
    async () => {
      const current = await webPods();
      if (current.length > 0) firstPodMs ??= Date.now() - backAt;
      return current.length === REPLICAS ? current : undefined;
    },
    150_000,
  );
  const allMs = Date.now() - backAt;

  expect(pods.every(injected)).toBe(true);
  // And the ReplicaSet's failure condition clears.
  await eventually('the ReplicaFailure condition to clear', async () => {
    const rs = (await cluster.admin.list<ReplicaSet>('/apis/apps/v1/namespaces/apps/replicasets')).items[0];
    return rs?.status?.conditions?.some(c => c.type === 'ReplicaFailure') === true ? undefined : true;
  }, 30_000);
  // The Deployment sees them too (its status follows the ReplicaSet's).
  await eventually('the Deployment to count them', async () => {
    const deployment = await cluster.admin.get<{status?: {replicas?: number}}>(`${DEPLOYMENTS}/web`);
    return deployment.status?.replicas === REPLICAS ? true : undefined;
  }, 30_000);
  process.stderr.write(
    `\n[admission-policy-retry] function down ${(OUTAGE_MS / 1000).toFixed(0)} s after the scale to ${REPLICAS}: ${refusedWhileDown} pod creations refused by the policy, ` +
      `0 pods stored; after the function came back: first pod ${((firstPodMs ?? allMs) / 1000).toFixed(1)} s, all ${REPLICAS} injected ${(allMs / 1000).toFixed(1)} s\n`,
  );
}, 300_000);
