/**
 * Item 2: pods made by a real Deployment controller get the sidecars, and the kubelet really starts
 * them with what was injected: cmd-nsc-init runs to completion, cmd-nsc keeps running, and the stub
 * images' own report (their log) shows the injected environment (POD_NAME resolved by the kubelet from
 * the downward API) and the injected mounts. An unannotated Deployment's pods are left alone.
 */
import type {Pod} from 'kubernetes-types/core/v1';
import {defaultConfig} from '../support/fixtures';
import {until} from './support/cluster';
import {
  NETWORK_SERVICES, apply, configHashOf, deployment, injected, injectorAndNamespace, podsOf, stubReport, STATUS_ANNOTATION,
} from './support/workloads';

const namespace = injectorAndNamespace('apps');
const bundledLogLevel = defaultConfig().config.env.find(e => e.name === 'NSM_LOG_LEVEL');
const BUNDLED_LOG_LEVEL = bundledLogLevel !== undefined && 'value' in bundledLogLevel ? bundledLogLevel.value : 'missing from the bundled config';

/** The pods of `app`, once there are `count` and every container of each runs (init containers done). */
async function runningPods(app: string, count: number): Promise<Pod[]> {
  return until(`${count} running pods of ${app}`, async () => {
    const pods = (await podsOf(namespace(), `app=${app}`)).filter(p => p.metadata?.deletionTimestamp === undefined);
    const running = pods.filter(p => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every(c => c.state?.running !== undefined));
    return running.length === count && pods.length === count ? running : undefined;
  }, 240_000, 1000);
}

test('an annotated Deployment of 3: every pod runs cmd-nsc-init to completion and cmd-nsc, with the injected env and mounts', async () => {
  await apply(namespace(), deployment('client', {replicas: 3}));
  const pods = await runningPods('client', 3);
  for (const pod of pods) {
    const name = pod.metadata!.name!;
    expect(injected(pod)).toMatchObject({init: ['cmd-nsc-init'], containers: ['app', 'cmd-nsc']});
    expect(configHashOf(pod)).toMatch(/^[0-9a-f]{12}$/);

    const init = pod.status?.initContainerStatuses?.find(c => c.name === 'cmd-nsc-init');
    expect(init?.state?.terminated).toMatchObject({exitCode: 0, reason: 'Completed'});
    const sidecar = pod.status?.containerStatuses?.find(c => c.name === 'cmd-nsc');
    expect(sidecar?.state?.running).toBeDefined();
    expect(sidecar?.restartCount).toBe(0);

    for (const container of ['cmd-nsc-init', 'cmd-nsc']) {
      const report = await stubReport(namespace(), name, container);
      expect(report.stub).toBe(container);
      expect(report.env).toMatchObject({
        NSM_NETWORK_SERVICES: NETWORK_SERVICES,
        POD_NAME: name,
        // The bundled config's value (the one manifests/base/config.yaml puts in the ConfigMap).
        NSM_LOG_LEVEL: BUNDLED_LOG_LEVEL,
        SPIFFE_ENDPOINT_SOCKET: 'unix:///run/spire/sockets/agent.sock',
      });
      // A Deployment's pods are named by generateName, already unique: NSM_NAME is $(POD_NAME) as
      // NSM's own webhook gives it, resolved by the kubelet.
      expect(report.env.NSM_NAME).toBe(name);
      const mounts = Object.fromEntries(report.mounts.map(m => [m.path, m.readOnly]));
      expect(mounts).toMatchObject({'/run/spire/sockets': true, '/var/lib/networkservicemesh': true});
    }
  }
});

test("an unannotated Deployment's pods are left as they are", async () => {
  await apply(namespace(), deployment('plain', {replicas: 1, annotated: false}));
  const [pod] = await runningPods('plain', 1);
  expect(injected(pod!)).toEqual({init: [], containers: ['app'], status: undefined});
  expect(pod!.metadata?.annotations?.[STATUS_ANNOTATION]).toBeUndefined();
});
