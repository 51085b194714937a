/**
 * The knative profile as the suite installs it: `kubectl apply -k` of manifests/knative with the image
 * built from our Dockerfile (dev.local/..., a name Knative doesn't try to resolve in a registry), and,
 * for the suite only, a quicker way to zero (see QUICK_ZERO). Plus what the tests ask of it: the
 * bridge Service's address and CA, the Revision's pods, and requests through Traefik.
 */
import {readFileSync} from 'node:fs';
import type {IncomingHttpHeaders} from 'node:http';
import {request} from 'node:https';
import {join} from 'node:path';
import type {Pod, Service} from 'kubernetes-types/core/v1';
import {admin, clusterState, injectorImage, kubectl, kubectlJson, until} from '../support/cluster';
import {INJECTOR_NAMESPACE, profileOverlay} from '../support/injector';

export const WEBHOOK = 'nsm-sidecar-injector';
/** Where the knative profile's webhook points: the bridge Service in Traefik's namespace. */
export const BRIDGE = {namespace: 'traefik', name: 'nsm-sidecar-injector'};
export const BRIDGE_HOST = `${BRIDGE.name}.${BRIDGE.namespace}.svc`;
export const REVISION_PODS = 'serving.knative.dev/service=nsm-sidecar-injector';

/**
 * The profile waits 10 minutes after the last request before scaling to zero (its retention period);
 * the suite can't wait that long for each cold start. It sets the retention to 0 and the autoscaler's
 * window to its minimum (6 s), so zero comes about 30 s (Knative's scale-to-zero grace period) after
 * the last request. Nothing else differs from what users deploy.
 */
export const QUICK_ZERO = {
  'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '0s',
  'autoscaling.knative.dev/window': '6s',
};

/** A kustomization: the knative profile with the local image and these template annotations. */
export function knativeOverlay(annotations: Record<string, string> = QUICK_ZERO): string {
  const patch = {apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: {name: WEBHOOK, namespace: INJECTOR_NAMESPACE}, spec: {template: {metadata: {annotations}}}};
  return profileOverlay('knative', ['patches:', `  - patch: '${JSON.stringify(patch)}'`]);
}

interface Ksvc {
  metadata: {generation?: number};
  spec: {template: {metadata?: {annotations?: Record<string, string>}; spec: {containers: Array<{image: string}>}}};
  status?: {observedGeneration?: number; latestReadyRevisionName?: string; conditions?: Array<{type: string; status: string; message?: string}>};
}

export async function ksvc(): Promise<Ksvc | undefined> {
  return kubectlJson<Ksvc>(['-n', INJECTOR_NAMESPACE, 'get', 'ksvc', WEBHOOK]).catch(() => undefined);
}

/** The Knative Service Ready at its latest generation; its ready Revision's name. */
export async function ksvcReady(timeoutMs = 300_000): Promise<string> {
  return until('the Knative Service Ready', async () => {
    const k = await ksvc();
    const ready = k?.status?.conditions?.find(c => c.type === 'Ready');
    return ready?.status === 'True' && k?.status?.observedGeneration === k?.metadata.generation ? k?.status?.latestReadyRevisionName : undefined;
  }, timeoutMs, 1000);
}

/** Installs the profile (the suite's overlay) and waits for certificates, caBundle and the Knative Service. */
export async function applyKnativeProfile(annotations?: Record<string, string>): Promise<string> {
  await kubectl(['apply', '-k', knativeOverlay(annotations)]);
  await kubectl(['-n', INJECTOR_NAMESPACE, 'wait', 'certificate', '--all', '--for=condition=Ready', '--timeout=180s']);
  await until('the caBundle injected', async () => ((await caBundle()) !== '' ? true : undefined), 120_000);
  return ksvcReady();
}

/**
 * Installs the profile unless it runs with this image and the suite's annotations (test files may run
 * alone, in any order: 03 leaves min-scale 1 behind, which would keep 02 from ever reaching zero).
 */
export async function ensureKnativeProfile(annotations: Record<string, string> = QUICK_ZERO): Promise<void> {
  const k = await ksvc();
  const current = k?.spec.template.metadata?.annotations ?? {};
  // The profile's own min-scale is "0"; an override replaces it.
  const wanted = {'autoscaling.knative.dev/min-scale': '0', ...annotations};
  const same = k?.spec.template.spec.containers[0]?.image === injectorImage() && Object.entries(wanted).every(([key, value]) => current[key] === value);
  if (!same || (await caBundle().catch(() => '')) === '') await applyKnativeProfile(annotations);
  await ksvcReady();
}

/** The PEM the apiserver trusts for our webhook (cert-manager's CA injector wrote it). */
export async function caBundle(): Promise<string> {
  const b64 = await kubectl(['get', 'mutatingwebhookconfiguration', WEBHOOK, '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}']);
  return Buffer.from(b64.trim(), 'base64').toString('utf8');
}

export async function bridgeClusterIp(): Promise<string> {
  const svc = await kubectlJson<Service>(['-n', BRIDGE.namespace, 'get', 'service', BRIDGE.name]);
  const ip = svc.spec?.clusterIP;
  if (ip === undefined || ip === 'None') throw new Error(`the bridge Service has no ClusterIP (${String(ip)})`);
  return ip;
}

export async function revisionPods(): Promise<Pod[]> {
  const list = await kubectlJson<{items: Pod[]}>(['-n', INJECTOR_NAMESPACE, 'get', 'pods', '-l', REVISION_PODS]);
  return list.items;
}

/** Waits until no pod of the function runs (Knative scaled the Revision to zero); returns how long it took. */
export async function scaledToZero(timeoutMs = 240_000): Promise<number> {
  const t0 = Date.now();
  await until('the function scaled to zero (no Revision pod left)', async () => ((await revisionPods()).length === 0 ? true : undefined), timeoutMs, 1000);
  return Date.now() - t0;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTPS request from this host to the bridge Service's ClusterIP, as the apiserver makes it: SNI and
 * Host `nsm-sidecar-injector.traefik.svc`, the certificate verified against the webhook's caBundle.
 */
export function throughBridge(ip: string, ca: string, options: {method?: string; path?: string; headers?: Record<string, string | number>; body?: Buffer}): Promise<Answer> {
  return new Promise((resolvePromise, reject) => {
    const req = request({host: ip, port: 443, servername: BRIDGE_HOST, ca, method: options.method ?? 'POST', path: options.path ?? '/mutate', headers: {host: `${BRIDGE_HOST}:443`, ...options.headers}, timeout: 60_000}, res => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')}));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 60 s')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A minimal AdmissionReview of a pod that asks for a network service. */
export function review(uid: string, namespace = 'default'): Buffer {
  return Buffer.from(JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid, kind: {group: '', version: 'v1', kind: 'Pod'}, resource: {group: '', version: 'v1', resource: 'pods'},
      namespace, operation: 'CREATE', userInfo: {username: 'test'},
      object: {apiVersion: 'v1', kind: 'Pod', metadata: {name: `p-${uid}`, namespace, annotations: {'networkservicemesh.io': 'kernel://icmp-responder/nsm-1'}}, spec: {containers: [{name: 'app', image: 'dev.local/app:1'}]}},
    },
  }));
}

/** The p-th percentile (0-100) of values, by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

const CONTROL = 'nsm-test-externalname-control';
const CONTROL_HOOK = 'control.externalname.test';

/** The apiserver's count of calls to one webhook (by its name) that failed and were let through. */
export async function failOpenCount(webhook: string): Promise<number> {
  const text = await kubectl(['get', '--raw', '/metrics']);
  return text.split('\n').filter(l => l.startsWith('apiserver_admission_webhook_fail_open_count{') && l.includes(`name="${webhook}"`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/**
 * The profile's earlier design, as a control: a second webhook (failurePolicy Ignore, pods of one
 * namespace only) whose clientConfig names the ExternalName Service Knative makes for the Knative
 * Service. Creates `pod` (dry run) in `namespace` until that webhook has failed open once, and returns
 * the pod as stored and the apiserver's log line about the failed call.
 */
export async function throughExternalNameControl(namespace: string, pod: Record<string, unknown>): Promise<{pod: Pod; apiserverSaid: string | undefined}> {
  await kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: {name: CONTROL},
    webhooks: [{
      name: CONTROL_HOOK, admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', timeoutSeconds: 5,
      clientConfig: {service: {namespace: INJECTOR_NAMESPACE, name: WEBHOOK, path: '/mutate', port: 80}, caBundle: Buffer.from(await caBundle()).toString('base64')},
      rules: [{operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced'}],
      namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': namespace}},
    }],
  }));
  const log = join(clusterState(), 'logs', 'kube-apiserver.log');
  const seen = readFileSync(log, 'utf8').length;
  const before = await failOpenCount(CONTROL_HOOK);
  const stored = await until('a pod admitted past the control webhook', async () => {
    const p = await admin().create<Pod>(`/api/v1/namespaces/${namespace}/pods`, pod, {dryRun: true});
    return (await failOpenCount(CONTROL_HOOK)) > before ? p : undefined;
  }, 60_000, 2000);
  const apiserverSaid = readFileSync(log, 'utf8').slice(seen).split('\n').find(l => l.includes(CONTROL_HOOK));
  return {pod: stored, apiserverSaid};
}

export async function deleteExternalNameControl(): Promise<void> {
  await kubectl(['delete', 'mutatingwebhookconfiguration', CONTROL, '--ignore-not-found']);
}
