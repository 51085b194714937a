/**
 * What the apiserver stores when it calls our function, through the API: pods and every workload
 * kind (in both workload modes), dry-run, excluded namespaces, native sidecars, and reinvocation
 * with a second webhook.
 */
import {createServer, type Server} from 'node:https';
import type {AddressInfo} from 'node:net';
import type {Container, Pod, PodTemplateSpec} from 'kubernetes-types/core/v1';
import {stringify} from 'yaml';
import {defaultConfig, HASH_LABEL} from '../support/fixtures';
import {makeTestCerts} from '../support/test-ca';
import {createDefaultServiceAccount} from './harness/controlplane';
import {isStatus} from './harness/kube';
import {eventually, startCluster, type Cluster} from './support/cluster';

const NSM = 'networkservicemesh.io';
const STATUS = 'sidecar-injector.networkservicemesh.io/status';
const names = (cs: Container[] | undefined): string[] => (cs ?? []).map(c => c.name);
const pod = (name: string, annotations: Record<string, string> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {name, annotations},
  spec: {containers: [{name: 'app', image: 'alpine:3.20'}]},
});

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
  await cluster.namespace('apps');
});
afterAll(async () => cluster?.stop());

describe('pods', () => {
  it('stores an annotated pod with cmd-nsc-init, cmd-nsc, env, mounts, volumes and label', async () => {
    await cluster.admin.create('/api/v1/namespaces/apps/pods', pod('client', {[NSM]: 'kernel://icmp-responder/nsm-1'}));
    const stored = await cluster.admin.get<Pod>('/api/v1/namespaces/apps/pods/client');
    expect(names(stored.spec?.initContainers)).toEqual(['cmd-nsc-init']);
    expect(names(stored.spec?.containers)).toEqual(['app', 'cmd-nsc']);
    for (const c of [stored.spec?.initContainers?.[0], stored.spec?.containers[1]]) {
      expect(c?.image).toMatch(/^ghcr\.io\/networkservicemesh\/cmd-nsc(-init)?:v1\.18\.0$/);
      expect(c?.env?.map(e => e.name)).toEqual(['NSM_LOG_LEVEL', 'SPIFFE_ENDPOINT_SOCKET', 'POD_NAME', 'NSM_NETWORK_SERVICES', 'NSM_NAME']);
      expect(c?.env?.find(e => e.name === 'NSM_NETWORK_SERVICES')?.value).toBe('kernel://icmp-responder/nsm-1');
      // (The ServiceAccount admission plugin mounts kube-api-access-* into every container; not ours.)
      expect(c?.volumeMounts?.filter(m => !m.name.startsWith('kube-api-access')).map(m => [m.name, m.mountPath, m.readOnly])).toEqual([
        ['spire-agent-socket', '/run/spire/sockets', true],
        ['nsm-socket', '/var/lib/networkservicemesh', true],
      ]);
      expect(c?.resources).toEqual({requests: {cpu: '100m', memory: '40Mi'}, limits: {cpu: '200m', memory: '80Mi'}});
    }
    // The ServiceAccount admission plugin (which runs before webhooks) added kube-api-access-*; ours follow.
    expect(stored.spec?.volumes?.map(v => [v.name.replace(/^kube-api-access-.*/, 'kube-api-access'), v.hostPath?.path, v.hostPath?.type])).toEqual([
      ['kube-api-access', undefined, undefined],
      ['spire-agent-socket', '/run/spire/sockets', 'Directory'],
      ['nsm-socket', '/var/lib/networkservicemesh', 'Directory'],
    ]);
    expect(stored.metadata?.labels).toEqual({'spiffe.io/spiffe-id': 'true', [HASH_LABEL]: defaultConfig().hash});
    expect(JSON.parse(stored.metadata?.annotations?.[STATUS] ?? '{}')).toMatchObject({config: defaultConfig().hash});
  });

  it('resolves a name collision with the user containers and volumes, and the apiserver accepts the result', async () => {
    const colliding = {
      ...pod('collide', {[NSM]: 'kernel://a/nsm-1'}),
      spec: {containers: [{name: 'cmd-nsc', image: 'example.com/mine:1'}], volumes: [{name: 'nsm-socket', emptyDir: {}}]},
    };
    const stored = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', colliding);
    expect(names(stored.spec?.containers)).toEqual(['cmd-nsc', 'cmd-nsc-2']);
    expect(stored.spec?.volumes?.map(v => v.name).filter(n => !n.startsWith('kube-api-access'))).toEqual(['nsm-socket', 'spire-agent-socket', 'nsm-socket-2']);
  });

  it('leaves a plain pod untouched', async () => {
    const created = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('plain'));
    expect(names(created.spec?.containers)).toEqual(['app']);
    expect(created.spec?.initContainers).toBeUndefined();
    expect(created.metadata?.annotations?.[STATUS]).toBeUndefined();
  });

  it('server-side dry-run returns the injected pod and stores nothing', async () => {
    const returned = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('dry', {[NSM]: 'kernel://a/nsm-1'}), {dryRun: true});
    expect(names(returned.spec?.containers)).toEqual(['app', 'cmd-nsc']);
    const error = await cluster.admin.get('/api/v1/namespaces/apps/pods/dry').then(() => undefined, (e: unknown) => e);
    expect(isStatus(error, 404)).toBe(true);
    const decision = cluster.webhook.logs().find(l => l['message'] === 'admission decision' && l['name'] === 'dry');
    expect(decision).toMatchObject({dryRun: true, decision: 'injected'});
  });

  it('never sends the excluded namespaces to the function', async () => {
    // The injector's own namespace enforces Pod Security `restricted` (the deployment profile): a pod
    // that meets it, so that what keeps it uninjected is the webhook's namespace selector.
    const restricted = pod('excluded', {[NSM]: 'kernel://a/nsm-1'});
    restricted.spec = {
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: 'RuntimeDefault'}},
      containers: [{name: 'app', image: 'alpine:3.20', securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}}}],
    };
    for (const ns of ['kube-system', 'nsm-sidecar-injector']) {
      await createDefaultServiceAccount(cluster.admin, ns);
      const created = await cluster.admin.create<Pod>(`/api/v1/namespaces/${ns}/pods`, restricted);
      expect(names(created.spec?.containers)).toEqual(['app']);
    }
    const seen = cluster.webhook.logs().filter(l => l['message'] === 'admission decision').map(l => l['namespace']);
    expect(seen).not.toContain('kube-system');
    expect(seen).not.toContain('nsm-sidecar-injector');
    expect(seen).toContain('apps');
  });
});

describe('workloads', () => {
  const template = (annotations: Record<string, string>): PodTemplateSpec => ({
    metadata: {labels: {app: 'w'}, annotations},
    spec: {containers: [{name: 'app', image: 'busybox:1.36'}], restartPolicy: 'Always'},
  });
  const jobTemplate = (annotations: Record<string, string>): PodTemplateSpec => ({...template(annotations), spec: {...template(annotations).spec!, restartPolicy: 'Never'}});
  const ask = {[NSM]: 'kernel://icmp-responder/nsm-1'};
  const cases: Array<[string, string, Record<string, unknown>, (o: any) => PodTemplateSpec]> = [
    ['Deployment', '/apis/apps/v1/namespaces/apps/deployments', {selector: {matchLabels: {app: 'w'}}, template: template(ask)}, o => o.spec.template],
    ['StatefulSet', '/apis/apps/v1/namespaces/apps/statefulsets', {serviceName: 'w', selector: {matchLabels: {app: 'w'}}, template: template(ask)}, o => o.spec.template],
    ['DaemonSet', '/apis/apps/v1/namespaces/apps/daemonsets', {selector: {matchLabels: {app: 'w'}}, template: template(ask)}, o => o.spec.template],
    ['Job', '/apis/batch/v1/namespaces/apps/jobs', {template: jobTemplate(ask)}, o => o.spec.template],
    ['CronJob', '/apis/batch/v1/namespaces/apps/cronjobs', {schedule: '0 2 * * *', jobTemplate: {spec: {template: jobTemplate(ask)}}}, o => o.spec.jobTemplate.spec.template],
  ];
  const apiVersionOf = (path: string): string => (path.startsWith('/apis/batch') ? 'batch/v1' : 'apps/v1');

  it.each(cases)('stores a %s as written: its pods are injected when they are created', async (kind, path, spec, templateOf) => {
    await cluster.admin.create(path, {apiVersion: apiVersionOf(path), kind, metadata: {name: kind.toLowerCase()}, spec});
    const stored = templateOf(await cluster.admin.get(`${path}/${kind.toLowerCase()}`));
    expect(names(stored.spec?.initContainers)).toEqual([]);
    expect(names(stored.spec?.containers)).toEqual(['app']);
    expect(stored.metadata?.annotations).toEqual(ask);
    // (The Job controller's admission adds labels of its own to a Job's template; none of ours.)
    expect(stored.metadata?.labels).toMatchObject({app: 'w'});
    expect(Object.keys(stored.metadata?.labels ?? {}).filter(k => k === HASH_LABEL || k === 'spiffe.io/spiffe-id')).toEqual([]);
  });

  it("copies a request on a workload's own metadata into its pod template, and changes nothing else", async () => {
    const sent = {apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: {name: 'nsm-style', annotations: ask}, spec: {serviceName: 'w', selector: {matchLabels: {app: 'w'}}, template: template({})}};
    const stored = await cluster.admin.create<{spec: {template: PodTemplateSpec}}>('/apis/apps/v1/namespaces/apps/statefulsets', sent);
    expect(stored.spec.template.metadata?.annotations).toEqual(ask);
    expect(stored.spec.template.spec?.containers).toEqual([expect.objectContaining({name: 'app', image: 'busybox:1.36'})]);
    expect(stored.spec.template.spec?.initContainers).toBeUndefined();
    expect(stored.spec.template.spec?.volumes).toBeUndefined();
  });

  it('leaves the template of a Deployment-owned ReplicaSet alone', async () => {
    const owner = await cluster.admin.create<{metadata: {uid: string}}>('/apis/apps/v1/namespaces/apps/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {name: 'owner'},
      spec: {selector: {matchLabels: {app: 'o'}}, template: {metadata: {labels: {app: 'o'}}, spec: {containers: [{name: 'app', image: 'nginx'}]}}},
    });
    const rs = await cluster.admin.create<{spec: {template: PodTemplateSpec}}>('/apis/apps/v1/namespaces/apps/replicasets', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {name: 'owner-abc', annotations: ask, ownerReferences: [{apiVersion: 'apps/v1', kind: 'Deployment', name: 'owner', uid: owner.metadata.uid, controller: true}]},
      spec: {selector: {matchLabels: {app: 'o'}}, template: {metadata: {labels: {app: 'o'}}, spec: {containers: [{name: 'app', image: 'nginx'}]}}},
    });
    // Neither injected nor given the workload's request: its template must stay the Deployment's.
    expect(names(rs.spec.template.spec?.containers)).toEqual(['app']);
    expect(rs.spec.template.metadata?.annotations).toBeUndefined();
  });

  describe('with workloads: inject-template', () => {
    const deploymentProbe = {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'mode-probe'}, spec: {selector: {matchLabels: {app: 'w'}}, template: template(ask)}};
    const swapTo = async (config: object, injected: boolean) => {
      cluster.config.swap(stringify(config));
      await eventually(`the webhook to ${injected ? '' : 'no longer '}inject templates`, async () => {
        const probe = await cluster.admin.create<{spec: {template: PodTemplateSpec}}>('/apis/apps/v1/namespaces/apps/deployments', deploymentProbe, {dryRun: true});
        return names(probe.spec.template.spec?.containers).includes('cmd-nsc') === injected ? true : undefined;
      });
    };
    beforeAll(async () => swapTo({...defaultConfig().config, workloads: 'inject-template'}, true));
    afterAll(async () => swapTo(defaultConfig().config, false));

    it.each(cases)('injects the pod template of a %s', async (kind, path, spec, templateOf) => {
      const name = `${kind.toLowerCase()}-t`;
      await cluster.admin.create(path, {apiVersion: apiVersionOf(path), kind, metadata: {name}, spec});
      const stored = templateOf(await cluster.admin.get(`${path}/${name}`));
      expect(names(stored.spec?.initContainers)).toEqual(['cmd-nsc-init']);
      expect(names(stored.spec?.containers)).toEqual(['app', 'cmd-nsc']);
      expect(stored.metadata?.annotations?.[STATUS]).toBeDefined();
    });

    it('a pod created from an injected template is stored with one copy of everything', async () => {
      const deployment = await cluster.admin.get<{spec: {template: PodTemplateSpec}}>('/apis/apps/v1/namespaces/apps/deployments/deployment-t');
      const fromTemplate = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {...deployment.spec.template.metadata, generateName: 'deployment-t-'},
        spec: deployment.spec.template.spec,
      });
      expect(names(fromTemplate.spec?.containers)).toEqual(['app', 'cmd-nsc']);
      expect(names(fromTemplate.spec?.initContainers)).toEqual(['cmd-nsc-init']);
    });
  });
});

describe('reinvocation', () => {
  let second: Server;
  afterAll(async () => {
    await cluster.admin.delete('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/zz-second').catch(() => undefined);
    second?.closeAllConnections();
    await new Promise(r => second?.close(r));
  });

  it('with a second webhook after ours and IfNeeded, the stored pod carries exactly one copy', async () => {
    // A second mutating webhook (ordered after ours by name) that adds a container of its own.
    const certs = makeTestCerts('second-webhook-ca');
    let calls = 0;
    second = createServer({cert: certs.certPem, key: certs.keyPem}, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        calls++;
        const review = JSON.parse(Buffer.concat(chunks).toString()) as {request: {uid: string; object: Pod}};
        const has = names(review.request.object.spec?.containers).includes('late');
        const patch = has ? [] : [{op: 'add', path: '/spec/containers/-', value: {name: 'late', image: 'busybox'}}];
        res.writeHead(200, {'content-type': 'application/json'}).end(
          JSON.stringify({apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: {uid: review.request.uid, allowed: true, ...(has ? {} : {patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64')})}}),
        );
      });
    });
    await new Promise<void>(r => second.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(second.address() as AddressInfo).port}/`;
    await cluster.admin.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: {name: 'zz-second'},
      webhooks: [{
        name: 'second.example.com',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        reinvocationPolicy: 'IfNeeded',
        failurePolicy: 'Fail',
        clientConfig: {url, caBundle: Buffer.from(certs.caPem).toString('base64')},
        rules: [{operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods']}],
        namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'apps'}},
      }],
    });
    const stored = await eventually('the second webhook to be active', async () => {
      const p = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('reinvoked-probe', {[NSM]: 'kernel://a/nsm-1'}), {dryRun: true});
      return names(p.spec?.containers).includes('late') ? p : undefined;
    });
    const before = cluster.webhook.logs().filter(l => l['message'] === 'admission decision').length;
    const created = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', pod('reinvoked', {[NSM]: 'kernel://a/nsm-1'}));
    expect(stored).toBeDefined();
    expect(names(created.spec?.containers)).toEqual(['app', 'cmd-nsc', 'late']);
    expect(names(created.spec?.initContainers)).toEqual(['cmd-nsc-init']);
    expect(created.spec?.volumes?.filter(v => v.name === 'nsm-socket')).toHaveLength(1);
    // Ours was called again after the second webhook changed the pod, and changed nothing.
    const decisions = cluster.webhook.logs().filter(l => l['message'] === 'admission decision').slice(before).filter(l => l['name'] === 'reinvoked');
    expect(decisions.map(d => d['decision'])).toEqual(['injected', 'skipped']);
    expect(calls).toBeGreaterThan(0);
  });
});

describe('native sidecars', () => {
  it('the apiserver accepts cmd-nsc as a restartPolicy: Always init container and keeps the order', async () => {
    // inject-template, so that a Job's template shows what its pods get.
    cluster.config.swap(stringify({...defaultConfig().config, nativeSidecars: true, workloads: 'inject-template'}));
    const job = await eventually('the native-sidecar config to take effect', async () => {
      await cluster.admin.delete('/apis/batch/v1/namespaces/apps/jobs/native').catch(() => undefined);
      const created = await cluster.admin.create<{spec: {template: PodTemplateSpec}}>('/apis/batch/v1/namespaces/apps/jobs', {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {name: 'native'},
        spec: {template: {metadata: {annotations: {[NSM]: 'kernel://a/nsm-1'}}, spec: {restartPolicy: 'Never', initContainers: [{name: 'wait', image: 'busybox'}], containers: [{name: 'task', image: 'busybox'}]}}},
      }, {dryRun: true});
      return names(created.spec.template.spec?.initContainers).includes('cmd-nsc') ? created : undefined;
    });
    expect(job.spec.template.spec?.initContainers?.map(c => [c.name, c.restartPolicy])).toEqual([
      ['wait', undefined],
      ['cmd-nsc-init', undefined],
      ['cmd-nsc', 'Always'],
    ]);
    const stored = await cluster.admin.create<Pod>('/api/v1/namespaces/apps/pods', {...pod('native', {[NSM]: 'kernel://a/nsm-1'}), spec: {restartPolicy: 'Never', containers: [{name: 'task', image: 'busybox'}]}});
    expect(stored.spec?.initContainers?.map(c => [c.name, c.restartPolicy])).toEqual([
      ['cmd-nsc-init', undefined],
      ['cmd-nsc', 'Always'],
    ]);
    expect(names(stored.spec?.containers)).toEqual(['task']);
  });
});
