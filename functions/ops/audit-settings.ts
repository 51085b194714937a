/**
 * Audit event settings from the environment. `K_SINK` is what a Knative SinkBinding (or a plain env
 * var) sets; without it, no events and the cloudevents SDK is never loaded.
 *
 *   K_SINK                  where to POST events (http or https URL)
 *   K_CE_OVERRIDES          Knative's {"extensions": {...}}: extension attributes for every event
 *   AUDIT_EVENT_MODE        binary (default) or structured
 *   AUDIT_EVENT_SOURCE      the events' source; default //nsm-sidecar-injector/<namespace or hostname>
 *   AUDIT_QUEUE_SIZE        events waiting beyond which new ones are dropped (default 1000)
 *   AUDIT_CONCURRENCY       deliveries at once (default 4)
 *   AUDIT_TIMEOUT_MS        per-event deadline, connect to answer (default 2000)
 */
import {readFileSync} from 'node:fs';
import {hostname} from 'node:os';
import type {Logger} from './log';

export const AUDIT_EVENT_MODES = ['binary', 'structured'] as const;
export type AuditEventMode = (typeof AUDIT_EVENT_MODES)[number];

export interface AuditSettings {
  readonly sink: URL;
  readonly mode: AuditEventMode;
  readonly source: string;
  readonly extensions: Readonly<Record<string, string>>;
  readonly queueSize: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
}

/** The function's own namespace, as the kubelet mounts it next to the ServiceAccount token. */
export const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The sink without credentials or query, for logs. */
export function sinkForLogs(sink: URL): string {
  return `${sink.origin}${sink.pathname}`;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, logger: Logger): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (Number.isInteger(value) && value > 0) return value;
  logger.log('warn', `${name} is not a positive integer; using the default`, {value: text, default: fallback});
  return fallback;
}

function defaultSource(env: NodeJS.ProcessEnv, namespaceFile: string): string {
  let namespace = env['POD_NAMESPACE'];
  if (namespace === undefined || namespace === '') {
    try {
      namespace = readFileSync(namespaceFile, 'utf8').trim();
    } catch {
      namespace = undefined;
    }
  }
  return `//nsm-sidecar-injector/${namespace !== undefined && namespace !== '' ? namespace : hostname()}`;
}

// The SDK refuses extension names that are not lowercase letters and digits; drop those up front
// rather than fail every event.
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

function extensions(text: string | undefined, logger: Logger): Record<string, string> {
  if (text === undefined || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    logger.log('warn', 'K_CE_OVERRIDES is not JSON; ignored');
    return {};
  }
  const raw = typeof parsed === 'object' && parsed !== null ? (parsed as {extensions?: unknown}).extensions : undefined;
  if (typeof raw !== 'object' || raw === null) return {};
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (EXTENSION_NAME.test(name) && typeof value === 'string') result[name] = value;
    else logger.log('warn', 'K_CE_OVERRIDES extension ignored: names are lowercase letters and digits, values strings', {name});
  }
  return result;
}

/** The settings, or undefined when K_SINK is unset or unusable (logged). */
export function auditSettings(env: NodeJS.ProcessEnv, logger: Logger, namespaceFile = IN_CLUSTER_NAMESPACE_FILE): AuditSettings | undefined {
  const text = env['K_SINK'];
  if (text === undefined || text === '') return undefined;
  let sink: URL;
  try {
    sink = new URL(text);
  } catch {
    logger.log('error', 'K_SINK is not a URL; audit events are off');
    return undefined;
  }
  if (sink.protocol !== 'http:' && sink.protocol !== 'https:') {
    logger.log('error', 'K_SINK must be an http or https URL; audit events are off', {protocol: sink.protocol});
    return undefined;
  }
  const modeText = env['AUDIT_EVENT_MODE'] ?? 'binary';
  const mode = AUDIT_EVENT_MODES.find(m => m === modeText);
  if (mode === undefined) logger.log('warn', 'AUDIT_EVENT_MODE is binary or structured; using binary', {value: modeText});
  const source = env['AUDIT_EVENT_SOURCE'];
  return {
    sink,
    mode: mode ?? 'binary',
    source: source !== undefined && source !== '' ? source : defaultSource(env, namespaceFile),
    extensions: extensions(env['K_CE_OVERRIDES'], logger),
    queueSize: positiveInt(env, 'AUDIT_QUEUE_SIZE', 1000, logger),
    concurrency: positiveInt(env, 'AUDIT_CONCURRENCY', 4, logger),
    timeoutMs: positiveInt(env, 'AUDIT_TIMEOUT_MS', 2000, logger),
  };
}
