/**
 * Item 3: the config changed the way operators change it, `kubectl apply` of the ConfigMap. The
 * kubelet swaps the mounted file; within the documented time (docs/deploy.md: 2 minutes) new pods get
 * the new config hash, with no injector restart. A Job with native sidecars (which the new config
 * turns on) runs to completion. Then an invalid ConfigMap: the last good config stays in force (pods
 * still injected, with it), and the rejection shows in both pods' logs and metrics.
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {ConfigMap, Pod} from 'kubernetes-types/core/v1';
import type {Job} from 'kubernetes-types/batch/v1';
import {admin, figure, kubectl, kubectlJson, until} from './support/cluster';
import {INJECTOR_NAMESPACE, ensureInjector, injectorLogs, injectorMetrics, injectorPods, logLines} from './support/injector';
import {APP_IMAGE, NETWORK_SERVICES, NOWHERE, NSM_ANNOTATION, configHashOf, deleteNamespace, freshNamespace, injected} from './support/workloads';

/** The documented bound (docs/deploy.md): the kubelet's sync period (1 min) plus its cache delay. */
const DOCUMENTED_RELOAD_MS = 120_000;
const CONFIGMAP = 'nsm-sidecar-injector-config';

let ns = '';
let original = '';

/** What the injector does to a new annotated pod now: a dry-run create goes through admission, stores nothing. */
async function probe(): Promise<Pod> {
  return admin().create<Pod>(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {generateName: 'probe-', annotations: {[NSM_ANNOTATION]: NETWORK_SERVICES}},
    spec: {nodeSelector: NOWHERE, containers: [{name: 'app', image: APP_IMAGE}]},
  }, {dryRun: true});
}

/** `kubectl apply` of the ConfigMap holding `text`, as made by `kubectl create configmap --dry-run`. */
async function applyConfig(text: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-cluster-config-'));
  writeFileSync(join(dir, 'config.yaml'), text);
  const manifest = await kubectl(['-n', INJECTOR_NAMESPACE, 'create', 'configmap', CONFIGMAP, `--from-file=config.yaml=${join(dir, 'config.yaml')}`, '--dry-run=client', '-o', 'yaml']);
  await kubectl(['apply', '-f', '-'], manifest);
}

/** Injector pods by name with their uid and restart count: the same after a reload means no restart. */
async function injectorIdentity(): Promise<Record<string, string>> {
  const pods = await injectorPods();
  return Object.fromEntries(pods.map(p => [p.metadata!.name!, `${p.metadata!.uid}/${p.status?.containerStatuses?.[0]?.restartCount}`]));
}

beforeAll(async () => {
  await ensureInjector();
  ns = await freshNamespace('config');
  original = (await kubectlJson<ConfigMap>(['-n', INJECTOR_NAMESPACE, 'get', 'configmap', CONFIGMAP])).data!['config.yaml']!;
});

afterAll(async () => {
  // Back to the shipped config for the files after this one (they don't depend on it, but a kept
  // cluster should look as deployed).
  if (original) await applyConfig(original);
  if (ns) await deleteNamespace(ns);
});

test('kubectl apply of a new config: new pods get its hash within the documented time, without a restart; a native-sidecar Job completes', async () => {
  const before = await injectorIdentity();
  const oldHash = configHashOf(await probe());
  expect(oldHash).toBeDefined();

  const changed = original.replace(/^nativeSidecars: false$/m, 'nativeSidecars: true').replace(/(- name: NSM_LOG_LEVEL\n\s+value: )\w+/, '$1DEBUG');
  expect(changed).not.toBe(original);
  const t0 = Date.now();
  await applyConfig(changed);
  const pod = await until('a new pod injected with the new config', async () => {
    const p = await probe();
    return configHashOf(p) !== oldHash ? p : undefined;
  }, DOCUMENTED_RELOAD_MS, 1000);
  figure('ConfigMap apply to new pods injected with the new config', (Date.now() - t0) / 1000, 's');

  const newHash = configHashOf(pod)!;
  // Native sidecars: cmd-nsc is now an init container that keeps running (restartPolicy Always).
  expect(injected(pod)).toMatchObject({init: ['cmd-nsc-init', 'cmd-nsc'], containers: ['app']});
  expect(pod.spec?.initContainers?.find(c => c.name === 'cmd-nsc')?.restartPolicy).toBe('Always');
  expect(pod.spec?.initContainers?.[0]?.env?.find(e => e.name === 'NSM_LOG_LEVEL')?.value).toBe('DEBUG');

  // Both replicas loaded it (each logs it), and neither restarted.
  await until('both injector pods logging the new config', async () => {
    const pods = await injectorPods();
    const loaded = await Promise.all(pods.map(async p =>
      logLines(await injectorLogs(p.metadata!.name!)).some(l => l.message === 'config loaded' && l.configHash === newHash)));
    return loaded.length === 2 && loaded.every(Boolean) ? true : undefined;
  }, DOCUMENTED_RELOAD_MS, 2000);
  expect(await injectorIdentity()).toEqual(before);

  // A Job: with native sidecars the kubelet stops cmd-nsc once the app exits, so the Job completes.
  await kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify({
    apiVersion: 'batch/v1', kind: 'Job', metadata: {name: 'once'},
    spec: {
      backoffLimit: 0,
      template: {
        metadata: {annotations: {[NSM_ANNOTATION]: NETWORK_SERVICES}},
        spec: {restartPolicy: 'Never', containers: [{name: 'app', image: APP_IMAGE, args: ['init']}]},
      },
    },
  }));
  const job = await until('the Job to complete', async () => {
    const j = await kubectlJson<Job>(['-n', ns, 'get', 'job', 'once']);
    if (j.status?.failed) throw new Error(`the Job failed: ${JSON.stringify(j.status)}`);
    return j.status?.succeeded === 1 ? j : undefined;
  }, 180_000, 1000);
  expect(job.status?.conditions?.find(c => c.type === 'Complete')?.status).toBe('True');
  const [jobPod] = (await kubectlJson<{items: Pod[]}>(['-n', ns, 'get', 'pods', '-l', 'job-name=once'])).items;
  expect(injected(jobPod!)).toMatchObject({init: ['cmd-nsc-init', 'cmd-nsc'], containers: ['app']});
  expect(configHashOf(jobPod!)).toBe(newHash);
});

test('an invalid ConfigMap: the last good config stays in force, the rejection is logged and counted', async () => {
  const good = configHashOf(await probe());
  const before = await injectorIdentity();
  await applyConfig(original.replace(/^nativeSidecars: (true|false)$/m, 'nativeSidecars: maybe'));

  const pods = await injectorPods();
  await until('both injector pods rejecting the config', async () => {
    const rejected = await Promise.all(pods.map(async p =>
      logLines(await injectorLogs(p.metadata!.name!)).some(l => typeof l.message === 'string' && l.message.startsWith('config rejected'))));
    return rejected.every(Boolean) ? true : undefined;
  }, DOCUMENTED_RELOAD_MS, 2000);
  for (const p of pods) {
    const metrics = await injectorMetrics(p.metadata!.name!);
    expect(metrics).toMatch(/^nsm_injector_config_loads_total\{result="rejected"\} [1-9]/m);
    expect(metrics).toContain(`nsm_injector_config_info{hash="${good}"} 1`);
  }
  // Still injecting, with the last good config; still Ready; not restarted.
  const pod = await probe();
  expect(injected(pod).init).toContain('cmd-nsc-init');
  expect(configHashOf(pod)).toBe(good);
  expect(await injectorIdentity()).toEqual(before);
  for (const p of await injectorPods()) expect(p.status?.conditions?.find(c => c.type === 'Ready')?.status).toBe('True');
});
