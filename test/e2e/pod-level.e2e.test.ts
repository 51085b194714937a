/**
 * Pod-level injection with the real controllers (kube-controller-manager from the same Kubernetes
 * build): an annotated Deployment is stored as written, the pods its ReplicaSet creates through
 * admission are injected, and after a config swap a rollout restart re-creates them with the new
 * config, which the config-hash label makes visible.
 */
import type {Pod, PodTemplateSpec} from 'kubernetes-types/core/v1';
import {stringify} from 'yaml';
import {defaultConfig, HASH_LABEL, NSM_ANNOTATION, STATUS_ANNOTATION} from '../support/fixtures';
import type {KubeObject} from './harness/kube';
import {eventually, startCluster, type Cluster} from './support/cluster';

interface Workload extends KubeObject {
  spec: {template: PodTemplateSpec};
}

const names = (p: {spec?: {containers?: Array<{name: string}>; initContainers?: Array<{name: string}>}}): string[] =>
  [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map(c => c.name);
const REQUEST = 'kernel://icmp-responder/nsm-1';
const DEPLOYMENTS = '/apis/apps/v1/namespaces/apps/deployments';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({controllerManager: true});
  await cluster.namespace('apps');
});
afterAll(async () => cluster?.stop());

/** The pods of the Deployment `web`, as the ReplicaSet controller made them (eventually `count` of them). */
async function webPods(count: number, labelSelector = 'app=web'): Promise<Pod[]> {
  return eventually(`${count} pods for ${labelSelector}`, async () => {
    const pods = await cluster.admin.list<Pod>('/api/v1/namespaces/apps/pods', {query: {labelSelector}});
    return pods.items.length === count ? pods.items : undefined;
  }, 60_000);
}

describe('a Deployment annotated the NSM way (the request on its own metadata)', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name: 'web', annotations: {[NSM_ANNOTATION]: REQUEST}},
    spec: {
      replicas: 2,
      selector: {matchLabels: {app: 'web'}},
      template: {metadata: {labels: {app: 'web'}}, spec: {containers: [{name: 'app', image: 'alpine:3.20'}]}},
    },
  };

  it('is stored without injected containers, its template carrying the copied request; the pods its ReplicaSet creates are injected', async () => {
    await cluster.admin.create(DEPLOYMENTS, deployment);
    const stored = await cluster.admin.get<Workload>(`${DEPLOYMENTS}/web`);
    expect(names(stored.spec.template)).toEqual(['app']);
    expect(stored.spec.template.metadata?.annotations).toEqual({[NSM_ANNOTATION]: REQUEST});
    expect(stored.spec.template.metadata?.labels).toEqual({app: 'web'});

    // The Deployment controller made a ReplicaSet with that template, left alone (owned by the Deployment).
    const replicaSets = await eventually('the ReplicaSet', async () => {
      const list = await cluster.admin.list<Workload>('/apis/apps/v1/namespaces/apps/replicasets', {query: {labelSelector: 'app=web'}});
      return list.items.length === 1 ? list.items : undefined;
    });
    expect(names(replicaSets[0]!.spec.template)).toEqual(['app']);

    // Its pods went through admission one by one, and each was injected with the config in force.
    const hash = defaultConfig().hash;
    for (const pod of await webPods(2)) {
      expect(names(pod)).toEqual(['cmd-nsc-init', 'app', 'cmd-nsc']);
      expect(pod.metadata?.labels?.[HASH_LABEL]).toBe(hash);
      expect(JSON.parse(pod.metadata?.annotations?.[STATUS_ANNOTATION] ?? '{}')).toMatchObject({config: hash});
      expect(pod.spec?.containers[1]?.env?.find(e => e.name === 'NSM_NETWORK_SERVICES')?.value).toBe(REQUEST);
      // A pod made from a template is named by generateName: NSM_NAME is $(POD_NAME), as NSM does.
      expect(pod.spec?.containers[1]?.env?.find(e => e.name === 'NSM_NAME')?.value).toBe('$(POD_NAME)');
    }
    const decisions = cluster.webhook.logs().filter(l => l['message'] === 'admission decision');
    expect(decisions.filter(l => l['kind'] === 'Deployment' && l['name'] === 'web').map(l => [l['decision'], l['requestedBy']])).toEqual([['deferred', 'workload']]);
    expect(decisions.filter(l => l['kind'] === 'ReplicaSet').map(l => l['reason'])).toEqual(['owned-by-deployment']);
  });

  it('after a config swap, a rollout restart re-creates its pods with the new config: new image, new hash; the selector lists the old pods, not the new', async () => {
    const old = await webPods(2);
    const next = {
      ...defaultConfig().config,
      initContainers: defaultConfig().config.initContainers.map(c => ({...c, image: 'ghcr.io/networkservicemesh/cmd-nsc-init:v1.18.1'})),
      sidecars: defaultConfig().config.sidecars.map(c => ({...c, image: 'ghcr.io/networkservicemesh/cmd-nsc:v1.18.1'})),
    };
    cluster.config.swap(stringify(next));
    const loaded = await eventually('the new config to be loaded', async () => {
      const line = cluster.webhook.logs().find(l => l['message'] === 'config loaded' && l['configHash'] !== defaultConfig().hash);
      return typeof line?.['configHash'] === 'string' ? line['configHash'] : undefined;
    });

    // What `kubectl rollout restart deploy/web` does: a new template annotation, so a new ReplicaSet.
    await cluster.admin.patch(`${DEPLOYMENTS}/web`, {spec: {template: {metadata: {annotations: {'kubectl.kubernetes.io/restartedAt': new Date().toISOString()}}}}});
    // One new pod (maxSurge 1); it never becomes ready (no node), so the old ones stay.
    const [fresh] = await webPods(1, `app=web,${HASH_LABEL}=${loaded}`);
    expect(fresh?.spec?.initContainers?.map(c => c.image)).toEqual(['ghcr.io/networkservicemesh/cmd-nsc-init:v1.18.1']);
    expect(fresh?.spec?.containers.map(c => c.image)).toEqual(['alpine:3.20', 'ghcr.io/networkservicemesh/cmd-nsc:v1.18.1']);
    expect(JSON.parse(fresh?.metadata?.annotations?.[STATUS_ANNOTATION] ?? '{}')).toMatchObject({config: loaded});

    // docs/operations.md's recipe: every pod still running an older injection, cluster-wide.
    const stale = await cluster.admin.list<Pod>('/api/v1/pods', {query: {labelSelector: `${HASH_LABEL},${HASH_LABEL}!=${loaded}`}});
    const staleNames = stale.items.map(p => p.metadata?.name);
    expect(staleNames).toEqual(expect.arrayContaining(old.map(p => p.metadata?.name)));
    expect(staleNames).not.toContain(fresh?.metadata?.name);
    expect(stale.items.every(p => p.metadata?.labels?.[HASH_LABEL] === defaultConfig().hash)).toBe(true);
    // The Deployment itself still holds only what its owner wrote (and the copied request, and the restart mark).
    expect(names((await cluster.admin.get<Workload>(`${DEPLOYMENTS}/web`)).spec.template)).toEqual(['app']);
  });
});

describe('server-side apply', () => {
  it('re-applying the same manifest (an UPDATE: the webhook is not called) keeps the request copied at creation', async () => {
    const manifest = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {name: 'applied', namespace: 'apps', annotations: {[NSM_ANNOTATION]: REQUEST}},
      spec: {replicas: 0, selector: {matchLabels: {app: 'applied'}}, template: {metadata: {labels: {app: 'applied'}}, spec: {containers: [{name: 'app', image: 'alpine:3.20'}]}}},
    };
    const apply = () => cluster.admin.patch<Workload>(`${DEPLOYMENTS}/applied`, manifest, {patchType: 'apply', query: {fieldManager: 'gitops', force: 'true'}});
    expect((await apply()).spec.template.metadata?.annotations).toEqual({[NSM_ANNOTATION]: REQUEST});
    const again = await apply();
    expect(again.spec.template.metadata?.annotations).toEqual({[NSM_ANNOTATION]: REQUEST});
    expect(names(again.spec.template)).toEqual(['app']);
    // Why: what a mutating webhook adds on create belongs to no field manager, so an apply that
    // does not mention it leaves it alone (the apiserver records only what the applier sent).
    type Entry = {manager: string; fieldsV1?: {'f:spec'?: {'f:template'?: {'f:metadata'?: Record<string, unknown>}}}};
    const entries = again.metadata?.['managedFields'] as Entry[];
    expect(entries.map(e => e.manager)).toContain('gitops');
    expect(entries.filter(e => e.fieldsV1?.['f:spec']?.['f:template']?.['f:metadata']?.['f:annotations'] !== undefined)).toEqual([]);
  });
});
