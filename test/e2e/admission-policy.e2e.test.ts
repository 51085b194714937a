/**
 * The ValidatingAdmissionPolicy on a real kube-apiserver, with the webhook as the manifests register it:
 * with the function up nothing is refused; with it down a pod that asks for network services is
 * refused with the policy's message and every other pod is created. The table of pods the unit suite
 * runs through the core (test/support/admission-policy-cases.ts) runs here through the apiserver.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Container, Pod} from 'kubernetes-types/core/v1';
import {execFileSync} from 'node:child_process';
import {CASE_NAMESPACES, casePod, POLICY_CASES, type PolicyCase} from '../support/admission-policy-cases';
import {blockWith, commandBlocks, type CommandBlock} from '../support/doc-blocks';
import {ensureControlPlaneBinaries} from './harness/controlplane';
import {isStatus, KubeApiError} from './harness/kube';
import {BINDING_PATH, POLICY_PATH, policyChecks, refusal} from './support/admission-policy';
import {eventually, startCluster, type Cluster} from './support/cluster';
import {collectionPath, pick, render} from './support/manifests';

const NSM = 'networkservicemesh.io';
const STATUS = 'sidecar-injector.networkservicemesh.io/status';
const POLICY = 'nsm-sidecar-injector';
const names = (cs: Container[] | undefined): string[] => (cs ?? []).map(c => c.name);
const pod = (name: string, meta: {annotations?: Record<string, string>; labels?: Record<string, string>} = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {name, ...meta},
  spec: {containers: [{name: 'app', image: 'alpine:3.20'}]},
});
const REFUSED = /^KubeApiError: POST .* failed with HTTP 403, reason Forbidden: pods ".*" is forbidden: ValidatingAdmissionPolicy 'nsm-sidecar-injector' with binding 'nsm-sidecar-injector' denied request: this pod asks for network services/;

// The apiserver writes its audit log here (to see what the Audit validation action records).
const auditDir = mkdtempSync(join(tmpdir(), 'nsm-e2e-audit-'));
writeFileSync(
  join(auditDir, 'policy.yaml'),
  'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n    resources: [{group: "", resources: ["pods"]}]\n  - level: None\n',
);

let cluster: Cluster;
let kubectl: string;

/** The command block of docs/deploy.md that shows the policy's refusal (its output block). */
const refusalBlock = (): CommandBlock | undefined => commandBlocks('docs/deploy.md').find(b => b.output?.includes('is forbidden: ValidatingAdmissionPolicy') === true);

/** The one-command block of docs/deploy.md that is exactly `command`. */
function blockOf(command: string): CommandBlock {
  const found = commandBlocks('docs/deploy.md').filter(b => b.text.trim() === command);
  if (found.length !== 1) throw new Error(`docs/deploy.md: expected one block that is ${JSON.stringify(command)}, found ${found.length}`);
  return found[0]!;
}

/** A command of docs/deploy.md, run with the control plane's kubectl and admin kubeconfig: its stdout, or its failure. */
function docCommand(block: CommandBlock): {stdout: string} | {stderr: string} {
  const line = block.text.trim();
  try {
    return {stdout: execFileSync('sh', ['-ec', line.replace(/^kubectl /, `${kubectl} `)], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, KUBECONFIG: cluster.cp.kubeconfigPath}})};
  } catch (error) {
    return {stderr: String((error as {stderr?: unknown}).stderr)};
  }
}

beforeAll(async () => {
  kubectl = `${(await ensureControlPlaneBinaries()).dir}/kubectl`;
  cluster = await startCluster({
    admissionPolicy: true,
    // With kube-controller-manager: its admission-policy status controller type-checks the policy.
    controllerManager: true,
    apiserverArgs: () => [`--audit-policy-file=${join(auditDir, 'policy.yaml')}`, `--audit-log-path=${join(auditDir, 'audit.log')}`],
  });
  for (const ns of Object.values(CASE_NAMESPACES)) await cluster.namespace(ns.name, ns);
  await cluster.namespace('apps');
});
afterAll(async () => {
  await cluster?.stop();
  rmSync(auditDir, {recursive: true, force: true});
});

const createIn = (namespace: string, body: Pod, dryRun = false): Promise<Pod> => cluster.admin.create<Pod>(`/api/v1/namespaces/${namespace}/pods`, body, {dryRun});
const tableRows = POLICY_CASES.map((c, i) => [c.title, c, `case-${i}`] as const);
const createCase = (c: PolicyCase, name: string): Promise<Pod> => createIn(CASE_NAMESPACES[c.namespace].name, casePod(c, name), true);

it('type-checks: the apiserver finds nothing to warn about in any expression', async () => {
  const status = await eventually('the policy to be type-checked', async () => {
    const policy = await cluster.admin.get<{status?: {observedGeneration?: number; typeChecking?: {expressionWarnings?: unknown[]}}}>(`${POLICY_PATH}/${POLICY}`);
    return policy.status?.typeChecking !== undefined ? policy.status : undefined;
  }, 60_000);
  expect(status.observedGeneration).toBe(1);
  expect(status.typeChecking?.expressionWarnings ?? []).toEqual([]);
});

describe('the function up', () => {
  it('stores an annotated pod injected and an unannotated one as is; the policy allows both', async () => {
    const denials = await policyChecks(cluster.admin, POLICY, 'deny');
    const annotated = await createIn('apps', pod('up-annotated', {annotations: {[NSM]: 'kernel://a/nsm-1'}}));
    expect(names(annotated.spec?.containers)).toEqual(['app', 'cmd-nsc']);
    const plain = await createIn('apps', pod('up-plain'));
    expect(names(plain.spec?.containers)).toEqual(['app']);
    expect(await policyChecks(cluster.admin, POLICY, 'deny')).toBe(denials);
  });

  it.each(tableRows)('admits %s, injected exactly when the policy would refuse it uninjected', async (_title, c, name) => {
    const stored = await createCase(c, name);
    const injectedByUs = stored.metadata?.annotations?.[STATUS] !== undefined && c.annotations?.[STATUS] === undefined;
    expect(injectedByUs).toBe(c.refused);
  });
});

describe('the function up, but unable to read the namespace', () => {
  it('a pod that asks through its namespace is refused, not left without sidecars', async () => {
    const binding = pick(render('deployment'), 'ClusterRoleBinding');
    await cluster.admin.delete(`${collectionPath(binding)}/${binding.metadata.name}`);
    try {
      // A namespace the function has never looked up (nothing cached): the lookup fails with 403.
      await cluster.namespace('vap-unreadable', {annotations: {[NSM]: 'kernel://ns-wide/nsm-1'}});
      const error = await refusal(createIn('vap-unreadable', pod('inherits')));
      expect(String(error)).toMatch(REFUSED);
      expect(String(error)).toContain(`(the ${NSM} annotation of namespace vap-unreadable)`);
      // A pod asking itself is injected (for the cluster's default level) and admitted.
      expect(names((await createIn('vap-unreadable', pod('own', {annotations: {[NSM]: 'kernel://a/nsm-1'}}))).spec?.containers)).toEqual(['app', 'cmd-nsc']);
    } finally {
      await cluster.admin.create(collectionPath(binding), binding);
    }
  });
});

describe('the policy failing itself', () => {
  const path = `${POLICY_PATH}/${POLICY}`;
  const patchPolicy = async (ops: unknown[]): Promise<void> => {
    await cluster.admin.patch(path, ops, {patchType: 'json'});
  };
  afterAll(async () => {
    const shipped = pick(render('deployment'), 'ValidatingAdmissionPolicy') as unknown as {spec: unknown};
    await patchPolicy([{op: 'replace', path: '/spec', value: shipped.spec}]);
    // Restored once a pod that doesn't ask is admitted again (the broken policy refuses every pod).
    await eventually('the shipped policy to apply again', async () => createIn('apps', pod(`restored-${Date.now()}`), true).catch(() => undefined));
  });

  it('with its failurePolicy Ignore, an expression that errors admits the pod (and the apiserver counts the error)', async () => {
    // A runtime error on every pod: a name is never an integer.
    await patchPolicy([{op: 'replace', path: '/spec/validations/0/expression', value: 'int(object.metadata.name) > 0'}]);
    const before = await policyChecks(cluster.admin, POLICY, 'allow');
    const admitted = await eventually('the broken expression to apply', async () => {
      const created = await createIn('apps', pod(`broken-${Date.now()}`), true).catch(() => undefined);
      return created !== undefined && (await policyChecks(cluster.admin, POLICY, 'allow')) > before ? created : undefined;
    });
    expect(names(admitted.spec?.containers)).toEqual(['app']);
    // The control: with failurePolicy Fail the same error refuses every pod it matches, asking or not.
    await patchPolicy([{op: 'replace', path: '/spec/failurePolicy', value: 'Fail'}]);
    const error = await eventually('Fail to apply', async () => refusal(createIn('apps', pod(`blocked-${Date.now()}`), true)));
    expect(String(error)).toMatch(/ValidatingAdmissionPolicy 'nsm-sidecar-injector' with binding 'nsm-sidecar-injector' denied request: expression 'int\(object.metadata.name\) > 0' resulted in error/);
  });
});

describe('the function down', () => {
  beforeAll(async () => cluster.webhook.stop());
  afterAll(async () => cluster.startWebhook());

  it.each(tableRows)('%s', async (_title, c, name) => {
    const error = await refusal(createCase(c, name));
    expect(error === undefined ? 'admitted' : 'refused').toBe(c.refused ? 'refused' : 'admitted');
    if (error === undefined) return;
    expect(String(error)).toMatch(REFUSED);
    const source = c.annotations?.[NSM] !== undefined ? `(its ${NSM} annotation)` : `(the ${NSM} annotation of namespace ${CASE_NAMESPACES[c.namespace].name})`;
    expect(String(error)).toContain(source);
  });

  it('refuses an annotated bare pod with a message that says what happened and what to do', async () => {
    const error = await refusal(createIn('apps', pod('down-annotated', {annotations: {[NSM]: 'kernel://a/nsm-1'}})));
    expect(isStatus(error, 403)).toBe(true);
    expect((error as KubeApiError).status?.message).toBe(
      'pods "down-annotated" is forbidden: ValidatingAdmissionPolicy \'nsm-sidecar-injector\' with binding \'nsm-sidecar-injector\' denied request: ' +
        'this pod asks for network services (its networkservicemesh.io annotation) but has no NSM sidecars: the NSM sidecar injector did not process it ' +
        '(down, starting, or unreachable from the apiserver). Create it again once the injector is back; check `kubectl -n nsm-sidecar-injector get pods`.',
    );
    await expect(cluster.admin.get(`/api/v1/namespaces/apps/pods/down-annotated`)).rejects.toThrow(/HTTP 404/);
  });

  it('creates an unannotated pod, a pod with the opt-out label and a pod in an excluded namespace; refuses one in an annotated namespace', async () => {
    expect(names((await createIn('apps', pod('down-plain'))).spec?.containers)).toEqual(['app']);
    const optOut = pod('down-opt-out', {annotations: {[NSM]: 'kernel://a/nsm-1'}, labels: {'sidecar-injector.networkservicemesh.io/injection': 'disabled'}});
    expect(names((await createIn('apps', optOut)).spec?.containers)).toEqual(['app']);
    expect(names((await createIn('nsm-system', pod('down-excluded', {annotations: {[NSM]: 'kernel://a/nsm-1'}}))).spec?.containers)).toEqual(['app']);
    const error = await refusal(createIn(CASE_NAMESPACES.asks.name, pod('down-inherits')));
    expect(String(error)).toMatch(REFUSED);
    expect(String(error)).toContain(`(the ${NSM} annotation of namespace ${CASE_NAMESPACES.asks.name})`);
  });

  it('docs/deploy.md: "Try it" with the injector down prints the refusal the docs show', async () => {
    const block = refusalBlock();
    expect(block?.text.trim()).toMatch(/^kubectl -n apps run client .*--annotations=networkservicemesh\.io=/);
    const shown = block?.output?.trim();
    expect(shown).toMatch(/^Error from server \(Forbidden\)/);
    expect(docCommand(block!)).toEqual({stderr: `${shown}\n`});
  });

  it('says a controller retries when the pod has one', async () => {
    const owned = pod('down-owned', {annotations: {[NSM]: 'kernel://a/nsm-1'}});
    owned.metadata = {...owned.metadata, ownerReferences: [{apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: '6b0c4a3e-0000-4000-8000-000000000001', controller: true}]};
    const error = await refusal(createIn('apps', owned, true));
    expect(String(error)).toContain('Its controller will create it again (with backoff); check `kubectl -n nsm-sidecar-injector get pods`.');
  });

  it('server-side dry run is refused the same way (kubectl --dry-run=server)', async () => {
    const error = await refusal(createIn('apps', pod('down-dry-run', {annotations: {[NSM]: 'kernel://a/nsm-1'}}), true));
    expect(String(error)).toMatch(REFUSED);
  });

  it('counts each refusal in apiserver_validating_admission_policy_check_total{enforcement_action="deny"}', async () => {
    const before = await policyChecks(cluster.admin, POLICY, 'deny');
    await refusal(createIn('apps', pod('down-counted', {annotations: {[NSM]: 'kernel://a/nsm-1'}}), true));
    expect(await policyChecks(cluster.admin, POLICY, 'deny')).toBe(before + 1);
  });

  describe('softer validation actions, and turning it off', () => {
    const binding = (): string => `${BINDING_PATH}/${POLICY}`;
    const setActions = async (actions: string[]): Promise<void> => {
      await cluster.admin.patch(binding(), {spec: {validationActions: actions}});
    };
    afterAll(async () => setActions(['Deny']));

    it('Warn (the command of docs/deploy.md): the pod is created without sidecars and the client gets the message as a warning', async () => {
      expect(docCommand(blockWith('docs/deploy.md', 'kubectl patch validatingadmissionpolicybinding'))).toEqual({stdout: 'validatingadmissionpolicybinding.admissionregistration.k8s.io/nsm-sidecar-injector patched\n'});
      const warnings = cluster.admin.warnings.length;
      const created = await eventually('the Warn action to apply', async () =>
        createIn('apps', pod(`warned-${Date.now()}`, {annotations: {[NSM]: 'kernel://a/nsm-1'}})).catch(() => undefined),
      );
      expect(names(created.spec?.containers)).toEqual(['app']);
      expect(cluster.admin.warnings.slice(warnings).join('\n')).toMatch(/Validation failed for ValidatingAdmissionPolicy 'nsm-sidecar-injector' with binding 'nsm-sidecar-injector': this pod asks for network services/);
    });

    it("Audit: the pod is created and the apiserver's audit event carries the failure", async () => {
      await setActions(['Audit']);
      const created = await eventually('the Audit action to apply', async () => {
        const warnings = cluster.admin.warnings.length;
        const pod_ = await createIn('apps', pod(`audited-${Date.now()}`, {annotations: {[NSM]: 'kernel://a/nsm-1'}})).catch(() => undefined);
        // Still Warn until the apiserver sees the change: try again with another pod.
        return pod_ !== undefined && cluster.admin.warnings.length === warnings ? pod_ : undefined;
      });
      const name = created.metadata?.name ?? '';
      const event = await eventually('the audit event', async () => {
        const lines = readFileSync(join(auditDir, 'audit.log'), 'utf8').split('\n').filter(l => l.includes(`"name":"${name}"`) && l.includes('"verb":"create"'));
        return lines.map(l => JSON.parse(l) as {annotations?: Record<string, string>}).find(e => e.annotations?.['validation.policy.admission.k8s.io/validation_failure'] !== undefined);
      });
      const failures = JSON.parse(event.annotations?.['validation.policy.admission.k8s.io/validation_failure'] ?? '[]') as Array<{message: string; policy: string}>;
      expect(failures).toEqual([expect.objectContaining({policy: POLICY, message: expect.stringMatching(/^this pod asks for network services/)})]);
    });

    it('deleting the binding (the command of docs/deploy.md) turns it off: pods are admitted without sidecars again', async () => {
      expect(docCommand(blockOf('kubectl delete validatingadmissionpolicybinding nsm-sidecar-injector'))).toEqual({stdout: 'validatingadmissionpolicybinding.admissionregistration.k8s.io "nsm-sidecar-injector" deleted\n'});
      try {
        const created = await eventually('the policy to be off', async () => createIn('apps', pod(`unbound-${Date.now()}`, {annotations: {[NSM]: 'kernel://a/nsm-1'}})).catch(() => undefined));
        expect(names(created.spec?.containers)).toEqual(['app']);
      } finally {
        const rendered = pick(render('deployment'), 'ValidatingAdmissionPolicyBinding');
        await cluster.admin.create(collectionPath(rendered), rendered);
      }
      await eventually('the policy to refuse again', async () => (await refusal(createIn('apps', pod('rebound', {annotations: {[NSM]: 'kernel://a/nsm-1'}}), true))) !== undefined || undefined);
    });
  });
});

it('with the function back, the pods it refused are injected when created again', async () => {
  const again = await eventually('the function to answer', async () => {
    const created = await createIn('apps', pod('down-annotated', {annotations: {[NSM]: 'kernel://a/nsm-1'}})).catch(() => undefined);
    return created;
  });
  expect(names(again.spec?.containers)).toEqual(['app', 'cmd-nsc']);
});
