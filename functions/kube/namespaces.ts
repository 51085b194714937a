/**
 * Namespace metadata from the Kubernetes API, for namespace-level opt-in and Pod Security levels.
 *
 * The AdmissionReview doesn't carry the namespace's annotations or labels, so we `get` the
 * Namespace with the function's ServiceAccount (RBAC: `get` on namespaces, nothing else). A
 * scale-to-zero function must stay fast, so: a small, time-bounded cache; one lookup in flight per
 * namespace; a short timeout; and plain node:https (no client library to load at cold start).
 *
 * When the lookup fails the caller falls back (no inherited annotation, privileged level) and says
 * so in the response's warnings and the log: see docs/namespaces.md.
 */
import {readFileSync} from 'node:fs';
import {Agent, request} from 'node:https';
import {isObject, isStringMap, own} from '../core/json';
import type {NamespaceLookup, NamespaceMeta} from '../core/namespace';

export type {NamespaceLookup};

export interface NamespaceSource {
  lookup(name: string): Promise<NamespaceLookup>;
}

export interface ApiNamespaceSourceOptions {
  /** e.g. https://10.96.0.1:443 */
  readonly apiUrl: string;
  readonly caFile: string;
  readonly tokenFile: string;
  readonly timeoutMs?: number;
  /** How long a namespace's metadata is reused. */
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  /** A failure is reused this long, so that a down apiserver isn't asked again on every review. */
  readonly failureTtlMs?: number;
  /** When a lookup fails, metadata read successfully at most this long ago is used instead. */
  readonly maxStaleMs?: number;
  /** Connections to the apiserver; lookups beyond them wait, within their deadline. */
  readonly maxSockets?: number;
  readonly now?: () => number;
}

interface CacheEntry {
  expires: number;
  value: Promise<NamespaceLookup>;
  /** The last successful read, kept to answer when a later one fails. */
  lastGood?: {meta: NamespaceMeta; read: number} | undefined;
}

/** The ServiceAccount files the kubelet mounts into every pod. */
export const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const IN_CLUSTER_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

// Bound ServiceAccount tokens are rotated by the kubelet (about hourly); re-reading the file once
// a minute follows that without a file read per request.
const TOKEN_REFRESH_MS = 60_000;

export class ApiNamespaceSource implements NamespaceSource {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly agent: Agent;
  private token: {value: string; read: number} | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ApiNamespaceSourceOptions) {
    this.now = options.now ?? Date.now;
    this.agent = new Agent({keepAlive: true, maxSockets: options.maxSockets ?? 8, ca: readFileSync(options.caFile)});
  }

  /**
   * Cached metadata while fresh; otherwise one read shared by concurrent callers. A failed read
   * answers with the last good metadata if it is recent enough (namespaces rarely change), else
   * with the failure, which is itself reused briefly.
   */
  lookup(name: string): Promise<NamespaceLookup> {
    const now = this.now();
    const hit = this.cache.get(name);
    if (hit !== undefined && hit.expires > now) return hit.value;
    const entry: CacheEntry = {
      expires: now + (this.options.ttlMs ?? 30_000),
      lastGood: hit?.lastGood,
      value: this.fetch(name).then(result => this.settle(entry, result)),
    };
    this.cache.delete(name);
    this.cache.set(name, entry);
    // Bounded: drop the oldest entries (Map keeps insertion order).
    for (const key of this.cache.keys()) {
      if (this.cache.size <= (this.options.maxEntries ?? 1000)) break;
      this.cache.delete(key);
    }
    return entry.value;
  }

  /** A success is remembered as the last good read; a failure is reused briefly, or answered from it. */
  private settle(entry: CacheEntry, result: NamespaceLookup): NamespaceLookup {
    const at = this.now();
    if (result.ok) {
      entry.lastGood = {meta: result.meta, read: at};
      return result;
    }
    entry.expires = at + (this.options.failureTtlMs ?? 2_000);
    const stale = entry.lastGood;
    if (stale !== undefined && at - stale.read <= (this.options.maxStaleMs ?? 600_000)) return {ok: true, meta: stale.meta};
    return result;
  }

  private bearer(): string {
    const now = this.now();
    if (this.token === undefined || now - this.token.read > TOKEN_REFRESH_MS) {
      this.token = {value: readFileSync(this.options.tokenFile, 'utf8').trim(), read: now};
    }
    return this.token.value;
  }

  private fetch(name: string): Promise<NamespaceLookup> {
    return new Promise(resolve => {
      let token: string;
      try {
        token = this.bearer();
      } catch (error) {
        resolve({ok: false, reason: `cannot read the ServiceAccount token: ${(error as Error).message}`});
        return;
      }
      const url = new URL(`/api/v1/namespaces/${encodeURIComponent(name)}`, this.options.apiUrl);
      const timeoutMs = this.options.timeoutMs ?? 1000;
      // One deadline for the whole lookup, waiting for a socket included (a socket `timeout` would
      // only start once a connection is assigned, and only measures idleness).
      const req = request(url, {agent: this.agent, headers: {authorization: `Bearer ${token}`, accept: 'application/json'}});
      const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (result: NamespaceLookup): void => {
        clearTimeout(deadline);
        resolve(result);
      };
      req.on('error', error => done({ok: false, reason: error.message}));
      req.on('response', res => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', error => done({ok: false, reason: error.message}));
        res.on('end', () => done(parseNamespace(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function parseNamespace(status: number, body: string): NamespaceLookup {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return {ok: false, reason: `HTTP ${status}, not JSON`};
  }
  if (status !== 200) {
    const message = isObject(json) ? own(json, 'message') : undefined;
    return {ok: false, reason: `HTTP ${status}${typeof message === 'string' ? `: ${message}` : ''}`};
  }
  const metadata = isObject(json) ? own(json, 'metadata') : undefined;
  if (!isObject(metadata)) return {ok: false, reason: 'the answer has no metadata'};
  const annotations = own(metadata, 'annotations') ?? {};
  const labels = own(metadata, 'labels') ?? {};
  if (!isStringMap(annotations) || !isStringMap(labels)) return {ok: false, reason: 'the answer has odd labels or annotations'};
  return {ok: true, meta: {annotations, labels}};
}
