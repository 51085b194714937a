/**
 * The user's side: namespaces, annotated and plain workloads, and what the kubelet actually ran in
 * their pods. The app container is the harness's dev.local/app:1, which waits (or, args ["init"], exits 0).
 */
import type {Pod} from 'kubernetes-types/core/v1';
import {admin, kubectl, kubectlJson, until} from './cluster';
import {ensureInjector} from './injector';

export const NSM_ANNOTATION = 'networkservicemesh.io';
export const STATUS_ANNOTATION = 'sidecar-injector.networkservicemesh.io/status';
export const NETWORK_SERVICES = 'kernel://icmp-responder/nsm-1';
export const APP_IMAGE = 'dev.local/app:1';
/** A nodeSelector no node matches: pods that only need to be admitted stay Pending and cost nothing. */
export const NOWHERE = {'nsm-sidecar-injector.test/node': 'none'};

let namespaces = 0;

/** A new namespace (name unique per run), once its `default` ServiceAccount exists. */
export async function freshNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${process.pid}-${++namespaces}`;
  await admin().create('/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name, labels}});
  await until(`ServiceAccount default in ${name}`, async () => admin().get(`/api/v1/namespaces/${name}/serviceaccounts/default`), 30_000);
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}

/**
 * A test file's setup: the injector deployed and running (files may run alone), and a fresh namespace
 * for the file's workloads, deleted afterwards. Returns the namespace's name (set once beforeAll ran).
 */
export function injectorAndNamespace(prefix: string): () => string {
  let ns = '';
  beforeAll(async () => {
    await ensureInjector();
    ns = await freshNamespace(prefix);
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });
  return () => ns;
}

export interface WorkloadOptions {
  replicas?: number;
  annotated?: boolean;
  nodeSelector?: Record<string, string>;
}

export function deployment(name: string, options: WorkloadOptions = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name},
    spec: {
      replicas: options.replicas ?? 1,
      selector: {matchLabels: {app: name}},
      template: {
        metadata: {labels: {app: name}, annotations: options.annotated === false ? {} : {[NSM_ANNOTATION]: NETWORK_SERVICES}},
        spec: {
          terminationGracePeriodSeconds: 1,
          ...(options.nodeSelector ? {nodeSelector: options.nodeSelector} : {}),
          containers: [{name: 'app', image: APP_IMAGE, imagePullPolicy: 'IfNotPresent'}],
        },
      },
    },
  };
}

export async function apply(namespace: string, object: unknown): Promise<void> {
  await kubectl(['-n', namespace, 'apply', '-f', '-'], JSON.stringify(object));
}

export async function podsOf(namespace: string, selector: string): Promise<Pod[]> {
  return (await kubectlJson<{items: Pod[]}>(['-n', namespace, 'get', 'pods', '-l', selector])).items;
}

/** What the injector put into a pod, as the apiserver stored it. */
export function injected(pod: Pod): {init: string[]; containers: string[]; status: string | undefined} {
  return {
    init: (pod.spec?.initContainers ?? []).map(c => c.name),
    containers: pod.spec?.containers.map(c => c.name) ?? [],
    status: pod.metadata?.annotations?.[STATUS_ANNOTATION],
  };
}

export function isInjected(pod: Pod): boolean {
  const {init, containers, status} = injected(pod);
  return status !== undefined && init.includes('cmd-nsc-init') && (containers.includes('cmd-nsc') || init.includes('cmd-nsc'));
}

/** The config hash an injected pod was given (its status annotation's `config`). */
export function configHashOf(pod: Pod): string | undefined {
  const status = pod.metadata?.annotations?.[STATUS_ANNOTATION];
  return status === undefined ? undefined : (JSON.parse(status) as {config?: string}).config;
}

/** The line the stub NSM images print at start (test/cluster/images/cmd/nsm-stub). */
export interface StubReport {
  stub: string;
  mode: string;
  env: Record<string, string>;
  mounts: {path: string; fsType: string; readOnly: boolean}[];
}

export async function stubReport(namespace: string, pod: string, container: string): Promise<StubReport> {
  const logs = await kubectl(['-n', namespace, 'logs', pod, '-c', container]);
  const line = logs.split('\n').find(l => l.startsWith('{"stub"'));
  if (line === undefined) throw new Error(`no stub report in the log of ${namespace}/${pod} ${container}:\n${logs}`);
  return JSON.parse(line) as StubReport;
}

/** A bare pod that asks for network services and only needs admission (NOWHERE); a name ending in '-' is a generateName. */
export function annotatedPod(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {...(name.endsWith('-') ? {generateName: name} : {name}), annotations: {[NSM_ANNOTATION]: NETWORK_SERVICES}},
    spec: {nodeSelector: NOWHERE, containers: [{name: 'app', image: APP_IMAGE}]},
  };
}

/** Creates an annotated pod in `namespace` as a dry run (admission, nothing stored); the pod as admitted. */
export function dryRunPod(namespace: string, name = 'probe-'): Promise<Pod> {
  return admin().create<Pod>(`/api/v1/namespaces/${namespace}/pods`, annotatedPod(name), {dryRun: true});
}

/** For `until`: true once an annotated pod created (dry run) in `namespace` comes back injected. */
export async function injectsNow(namespace: string): Promise<true | undefined> {
  return isInjected(await dryRunPod(namespace)) ? true : undefined;
}
