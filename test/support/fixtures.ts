/** Typed factories for test objects: reviews, pods, workloads and configs. */
import {readFileSync} from 'node:fs';
import {parse} from 'yaml';
import type {Pod} from 'kubernetes-types/core/v1';
import type {AdmissionReviewRequest, ReviewApiVersion} from '../../functions/admission/review';
import type {InjectorConfig, VersionedConfig} from '../../functions/core/config';
import {parseConfig} from '../../functions/config/parse';
import {groupKindOf} from '../../functions/core/kinds';

export const DEFAULT_CONFIG_PATH = 'manifests/base/config.yaml';
export const DEFAULT_CONFIG_TEXT = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');

export function loadConfig(text: string): VersionedConfig {
  const parsed = parseConfig(text);
  if (!parsed.ok) throw new Error(`test config invalid: ${parsed.errors.join('; ')}`);
  return parsed.value;
}

export const defaultConfig = (): VersionedConfig => loadConfig(DEFAULT_CONFIG_TEXT);

/** The default config with some fields replaced (re-validated, re-hashed). */
export function configWith(overrides: Partial<InjectorConfig>): VersionedConfig {
  return loadConfig(JSON.stringify({...defaultConfig().config, ...overrides}));
}

export const NSM_ANNOTATION = 'networkservicemesh.io';
export const STATUS_ANNOTATION = 'sidecar-injector.networkservicemesh.io/status';
export const HASH_LABEL = 'sidecar-injector.networkservicemesh.io/config-hash';

export function pod(overrides: {name?: string; annotations?: Record<string, string>; spec?: Partial<Pod['spec']>} = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: overrides.name ?? 'client',
      namespace: 'apps',
      ...(overrides.annotations ? {annotations: overrides.annotations} : {}),
    },
    spec: {containers: [{name: 'app', image: 'alpine:3.20'}], ...overrides.spec},
  };
}

export const annotatedPod = (services = 'kernel://icmp-responder/nsm-1'): Pod => pod({annotations: {[NSM_ANNOTATION]: services}});

export function review(
  object: unknown,
  options: {operation?: string; uid?: string; apiVersion?: ReviewApiVersion; dryRun?: boolean; kind?: {group: string; kind: string}} = {},
): AdmissionReviewRequest {
  const obj = (typeof object === 'object' && object !== null ? object : {}) as {
    apiVersion?: string;
    kind?: string;
    metadata?: {name?: string; namespace?: string};
  };
  const gk = options.kind ?? groupKindOf(obj.apiVersion ?? 'v1', obj.kind ?? 'Pod');
  return {
    apiVersion: options.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? '0b6a5d1c-2f3e-4a4b-9c8d-7e6f5a4b3c2d',
      kind: {...gk, version: (obj.apiVersion ?? 'v1').split('/').pop() ?? 'v1'},
      operation: options.operation ?? 'CREATE',
      ...(obj.metadata?.namespace !== undefined ? {namespace: obj.metadata.namespace} : {}),
      ...(obj.metadata?.name !== undefined ? {name: obj.metadata.name} : {}),
      ...(object !== undefined ? {object} : {}),
      ...(options.dryRun !== undefined ? {dryRun: options.dryRun} : {}),
    },
  };
}

/** Decodes a response's base64 patch. */
export function decodePatch(patch: string | undefined): unknown[] {
  if (patch === undefined) return [];
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as unknown[];
}

/**
 * The env of NSM's own webhook Deployment (test/testdata/nsm/admission-webhook-k8s.env.yaml, source named
 * there) as its container sees it: fieldRefs resolved the way the kubelet would for one of its pods.
 */
export function nsmWebhookEnv(): Record<string, string> {
  const fields: Record<string, string> = {'metadata.name': 'admission-webhook-k8s-6d4cf56db6-x7k2p', 'metadata.namespace': 'nsm-system'};
  const entries = parse(readFileSync('test/testdata/nsm/admission-webhook-k8s.env.yaml', 'utf8')) as Array<{name: string; value?: string; valueFrom?: {fieldRef: {fieldPath: string}}}>;
  return Object.fromEntries(entries.map(e => [e.name, e.value ?? fields[e.valueFrom?.fieldRef.fieldPath ?? ''] ?? '']));
}

/** The bundled default config with NSM_LOG_LEVEL set to `level` (the default is TRACE, as NSM's own Deployment passes). */
export function defaultConfigWithLogLevel(level: string): VersionedConfig {
  return configWith({env: defaultConfig().config.env.map(e => (e.name === 'NSM_LOG_LEVEL' ? {name: e.name, value: level} : e))});
}
