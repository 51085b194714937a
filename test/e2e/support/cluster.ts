/**
 * One end-to-end environment: a real kube-apiserver and etcd, the project's namespace, ServiceAccount
 * and RBAC applied from manifests/, the function running as its own HTTPS process with a token of
 * that ServiceAccount, and the project's MutatingWebhookConfiguration registered with only its
 * clientConfig pointed at the local process.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {FakeConfigMapVolume} from '../../support/kubelet-volume';
import {DEFAULT_CONFIG_TEXT} from '../../support/fixtures';
import {makeTestCerts, type TestCerts} from '../../support/test-ca';
import {createDefaultServiceAccount, createNamespaceWithDefaultServiceAccount, startControlPlane, type ControlPlane} from '../harness/controlplane';
import {isStatus, type KubeClient, type KubeObject} from '../harness/kube';
import {collectionPath, pick, render, type Manifest} from './manifests';
import {startWebhookProcess, type WebhookProcess} from './webhook-process';

export const INJECTOR_NAMESPACE = 'nsm-sidecar-injector';

export interface Cluster {
  readonly cp: ControlPlane;
  readonly admin: KubeClient;
  readonly config: FakeConfigMapVolume;
  readonly webhookConfig: Manifest;
  /** The CA of the function's serving certificate (the webhook's caBundle). */
  readonly servingCaPem: string;
  webhook: WebhookProcess;
  /**
   * Starts the function again on the same port, after `webhook.stop()` (failure-policy tests), with
   * its environment changed by `env` if given (a key set to undefined is removed).
   */
  startWebhook(env?: WebhookEnv): Promise<WebhookProcess>;
  /**
   * Starts one more process of the function on `port` (same certificate, identity and environment),
   * e.g. a second replica behind a loopback front; the caller stops it.
   */
  startReplica(port: number): Promise<WebhookProcess & {readonly pid: number}>;
  namespace(name: string, meta?: {labels?: Record<string, string>; annotations?: Record<string, string>}): Promise<void>;
  stop(): Promise<void>;
}

/** Changes to the function's environment; a key set to undefined is removed. */
export type WebhookEnv = Readonly<Record<string, string | undefined>>;

export interface ClusterOptions {
  /** Changes to the webhook configuration besides clientConfig (e.g. failurePolicy). */
  readonly webhookPatch?: Record<string, unknown>;
  /** Also run kube-controller-manager: Deployments make ReplicaSets make pods, through admission; new namespaces get their default ServiceAccount. */
  readonly controllerManager?: boolean;
  /** More kube-controller-manager flags (with controllerManager), e.g. its client's --kube-api-qps. */
  readonly controllerManagerArgs?: string[];
  /** Also run kube-scheduler: pods are bound to Nodes (which something else must play the kubelet for). */
  readonly scheduler?: boolean;
  /** More kube-scheduler flags (with scheduler). */
  readonly schedulerArgs?: string[];
  /** Changes to the function's environment (by default: INJECTOR_CONFIG, the ConfigMap volume). */
  readonly webhookEnv?: WebhookEnv;
  /** More kube-apiserver flags, given the function's port (chosen before the control plane starts). */
  readonly apiserverArgs?: (webhookPort: number) => string[];
  /**
   * Also register the manifests' ValidatingAdmissionPolicy and its binding (the admission-policy
   * component), and wait until the apiserver enforces them. Default false: the other suites test the
   * webhook alone.
   */
  readonly admissionPolicy?: boolean;
}

/**
 * Registers the project's MutatingWebhookConfiguration from `manifests` with only its clientConfig
 * changed: `url`, trusting `caPem`.
 */
export async function registerWebhook(admin: KubeClient, manifests: Manifest[], url: string, caPem: string, patch: Record<string, unknown> = {}): Promise<Manifest> {
  const registered = pick(manifests, 'MutatingWebhookConfiguration');
  const webhooks = (registered['webhooks'] as Array<Record<string, unknown>>).map(w => ({
    ...w,
    ...patch,
    clientConfig: {url, caBundle: Buffer.from(caPem).toString('base64')},
  }));
  const webhookConfig = {...registered, webhooks} as Manifest;
  await admin.create(collectionPath(webhookConfig), webhookConfig);
  return webhookConfig;
}

/** A free loopback port, kept bound until `release()`. */
async function holdPort(): Promise<{port: number; release: () => Promise<void>}> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return {port: address.port, release: () => new Promise<void>(resolve => server.close(() => resolve()))};
}

async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/**
 * Creates the policy and its binding as rendered, then waits until the apiserver refuses what the
 * policy refuses: a dry-run pod that asks for network services but carries no sidecars (call it while
 * nothing injects: before the webhook is registered, or with the function stopped).
 */
export async function registerAdmissionPolicy(admin: KubeClient, manifests: Manifest[]): Promise<void> {
  for (const kind of ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']) {
    const m = pick(manifests, kind);
    await admin.create(collectionPath(m), m);
  }
  await createNamespaceWithDefaultServiceAccount(admin, 'policy-probe', {}).catch((e: unknown) => {
    if (!isStatus(e, 409)) throw e;
  });
  const probe = {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'probe', annotations: {'networkservicemesh.io': 'kernel://probe/nsm-1'}}, spec: {containers: [{name: 'app', image: 'alpine'}]}};
  await eventually('the admission policy to be enforced', async () =>
    admin.create('/api/v1/namespaces/policy-probe/pods', probe, {dryRun: true}).then(
      () => undefined,
      (e: unknown) => (isStatus(e, 403) && String(e).includes('ValidatingAdmissionPolicy') ? true : undefined),
    ),
  );
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  // The function's port is needed before the apiserver starts (its flags may name it); it is held
  // until the function starts, so that the control plane's own free ports can't take it.
  const held = await holdPort();
  const port = held.port;
  let cp: ControlPlane;
  try {
    cp = await startControlPlane({
      controllerManager: options.controllerManager ?? false,
      extraControllerManagerArgs: options.controllerManagerArgs ?? [],
      scheduler: options.scheduler ?? false,
      extraSchedulerArgs: options.schedulerArgs ?? [],
      extraApiserverArgs: options.apiserverArgs?.(port) ?? [],
    });
  } finally {
    await held.release();
  }
  const admin = cp.adminClient();
  const tmp = mkdtempSync(join(tmpdir(), 'nsm-e2e-'));
  const config = new FakeConfigMapVolume(DEFAULT_CONFIG_TEXT);
  let webhook: WebhookProcess | undefined;
  try {
    const manifests = render('deployment');
    // The injector's identity exactly as the manifests grant it: nothing more.
    for (const kind of ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']) {
      const m = pick(manifests, kind);
      await admin.create(collectionPath(m), m);
    }
    const sa = pick(manifests, 'ServiceAccount');
    const token = await admin.createServiceAccountToken(sa.metadata.namespace ?? INJECTOR_NAMESPACE, sa.metadata.name, {expirationSeconds: 3600});
    writeFileSync(join(tmp, 'token'), token);
    writeFileSync(join(tmp, 'ca.crt'), cp.caPem);

    // The webhook's serving certificate comes from its own CA: the apiserver must use the caBundle.
    const certs: TestCerts = makeTestCerts('nsm-e2e-webhook-ca');
    const env = {
      INJECTOR_CONFIG: config.dir,
      NAMESPACE_LOOKUP: 'on',
      KUBE_API_URL: cp.url,
      KUBE_CA_FILE: join(tmp, 'ca.crt'),
      KUBE_TOKEN_FILE: join(tmp, 'token'),
      NAMESPACE_CACHE_TTL_SECONDS: '1',
    };
    const startProcess = async (onPort: number, changes: WebhookEnv = {}): Promise<WebhookProcess & {readonly pid: number}> =>
      startWebhookProcess({port: onPort, certs, env: {...env, ...options.webhookEnv, ...changes}});
    const startWebhook = async (changes: WebhookEnv = {}): Promise<WebhookProcess> => startProcess(port, changes);
    webhook = await startWebhook();

    if (options.admissionPolicy === true) await registerAdmissionPolicy(admin, manifests);
    const webhookConfig = await registerWebhook(admin, manifests, webhook.url, certs.caPem, options.webhookPatch);

    // A namespace to probe with until the apiserver has picked the webhook configuration up.
    await createNamespaceWithDefaultServiceAccount(admin, 'probe', {});
    await admin.patch('/api/v1/namespaces/probe', {metadata: {annotations: {'networkservicemesh.io': 'kernel://probe/nsm-1'}}});
    await createDefaultServiceAccount(admin, 'default');
    await eventually('the webhook to be called', async () => {
      const pod = await admin.create<{spec: {containers: unknown[]}}>('/api/v1/namespaces/probe/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {name: 'probe'},
        spec: {containers: [{name: 'app', image: 'alpine'}]},
      }, {dryRun: true});
      return pod.spec.containers.length === 2 ? true : undefined;
    });

    const cluster: Cluster = {
      cp,
      admin,
      config,
      webhookConfig,
      servingCaPem: certs.caPem,
      webhook,
      startWebhook: async changes => (cluster.webhook = await startWebhook(changes)),
      startReplica: async onPort => startProcess(onPort),
      namespace: async (name, meta = {}) => {
        const ns = await createNamespaceWithDefaultServiceAccount(admin, name, meta.labels ? {labels: meta.labels} : {});
        if (meta.annotations) await admin.patch<KubeObject>(`/api/v1/namespaces/${ns.metadata?.name ?? name}`, {metadata: {annotations: meta.annotations}});
      },
      stop: async () => {
        await cluster.webhook.stop();
        await cp.stop();
        config.remove();
        rmSync(tmp, {recursive: true, force: true});
      },
    };
    return cluster;
  } catch (error) {
    await webhook?.stop();
    await cp.stop();
    config.remove();
    rmSync(tmp, {recursive: true, force: true});
    throw error;
  }
}

export {eventually};
