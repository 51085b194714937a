/**
 * The injector as a platform engineer deploys it: `kubectl apply -k` of the deployment profile with
 * the image set to the one built from our Dockerfile (the `images:` override `kustomize edit set image`
 * writes), then cert-manager's certificates and the Deployment's rollout.
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, relative, resolve} from 'node:path';
import type {Pod} from 'kubernetes-types/core/v1';
import type {Deployment} from 'kubernetes-types/apps/v1';
import {injectorImage, kubectl, kubectlJson} from './cluster';

export const INJECTOR_NAMESPACE = 'nsm-sidecar-injector';
export const INJECTOR_SELECTOR = 'app.kubernetes.io/name=nsm-sidecar-injector,app.kubernetes.io/component=webhook';
const MANIFESTS = resolve(__dirname, '../../../manifests');

/**
 * A kustomization that is `profile` (a folder under manifests/) with the local image, what `kustomize
 * edit set image` writes, plus any `extra` lines (e.g. a `patches:` list).
 */
export function profileOverlay(profile: string, extra: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), `nsm-cluster-${profile}-overlay-`));
  const [name, tag] = injectorImage().split(/:(?=[^:]+$)/);
  // Kustomize refuses absolute resource paths; a relative one may climb out of the overlay's folder.
  writeFileSync(join(dir, 'kustomization.yaml'), [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    'resources:',
    `  - ${relative(dir, resolve(MANIFESTS, profile))}`,
    'images:',
    '  - name: nsm-sidecar-injector',
    `    newName: ${name}`,
    `    newTag: "${tag}"`,
    ...extra,
    '',
  ].join('\n'));
  return dir;
}

/** The deployment profile with the local image. */
export const overlay = (): string => profileOverlay('deployment');

/**
 * Everything of the injector gone (its webhook configuration, its namespace), and any `others`
 * ([namespace, kind, name]) too: what `kubectl delete -k` or `skaffold delete` must leave.
 */
export async function injectorGone(others: ReadonlyArray<readonly [string, string, string]> = []): Promise<true | undefined> {
  const webhooks = await kubectl(['get', 'mutatingwebhookconfiguration', '-o', 'name']);
  if (webhooks.includes('nsm-sidecar-injector')) return undefined;
  const left = await Promise.all([
    kubectl(['get', 'namespace', INJECTOR_NAMESPACE, '--ignore-not-found', '-o', 'name']),
    ...others.map(([ns, kind, name]) => kubectl(['-n', ns, 'get', kind, name, '--ignore-not-found', '-o', 'name'])),
  ]);
  return left.every(out => out.trim() === '') ? true : undefined;
}

export async function applyInjector(): Promise<void> {
  await kubectl(['apply', '-k', overlay()]);
}

/** Waits as docs/deploy.md tells operators to: certificates Ready, then the Deployment's rollout. */
export async function waitInjectorReady(timeoutSeconds = 180): Promise<void> {
  await kubectl(['-n', INJECTOR_NAMESPACE, 'wait', 'certificate', '--all', '--for=condition=Ready', `--timeout=${timeoutSeconds}s`]);
  await kubectl(['-n', INJECTOR_NAMESPACE, 'rollout', 'status', 'deploy/nsm-sidecar-injector', `--timeout=${timeoutSeconds}s`]);
}

/** Deploys the injector unless it already runs, ready, with this image (test files may run alone). */
export async function ensureInjector(): Promise<void> {
  const deployment = await kubectlJson<Deployment>(['-n', INJECTOR_NAMESPACE, 'get', 'deploy', 'nsm-sidecar-injector']).catch(() => undefined);
  const image = deployment?.spec?.template.spec?.containers[0]?.image;
  const ready = deployment?.status?.readyReplicas ?? 0;
  if (image !== injectorImage() || ready < (deployment?.spec?.replicas ?? 2)) await applyInjector();
  await waitInjectorReady();
}

export async function injectorPods(): Promise<Pod[]> {
  const list = await kubectlJson<{items: Pod[]}>(['-n', INJECTOR_NAMESPACE, 'get', 'pods', '-l', INJECTOR_SELECTOR]);
  return list.items.filter(p => p.metadata?.deletionTimestamp === undefined);
}

/** GET /metrics of one injector pod, through the apiserver's pod proxy (HTTPS to the pod's port). */
export function injectorMetrics(podName: string): Promise<string> {
  return kubectl(['get', '--raw', `/api/v1/namespaces/${INJECTOR_NAMESPACE}/pods/https:${podName}:8443/proxy/metrics`]);
}

export function injectorLogs(podName: string): Promise<string> {
  return kubectl(['-n', INJECTOR_NAMESPACE, 'logs', podName]);
}

/** One parsed JSON log line of the injector. */
export type LogLine = Record<string, unknown> & {message?: string};

export function logLines(text: string): LogLine[] {
  return text.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as LogLine);
}
