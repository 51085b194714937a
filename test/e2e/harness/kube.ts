/**
 * Minimal Kubernetes REST client for the e2e suite, over `node:https` only.
 *
 * Paths are raw API paths (`/api/v1/namespaces/x/pods`), bodies and results
 * are plain JSON. Result types are caller-asserted (`get<Pod>(...)`), e.g.
 * with the `kubernetes-types` interfaces; nothing is validated at runtime.
 */
import * as https from 'node:https';

export interface KubeClientOptions {
  /** API server base URL, e.g. `https://127.0.0.1:6443`. */
  url: string;
  /** PEM of the CA that signed the API server's serving certificate. */
  caPem: string;
  /** Client certificate + key (x509 authentication), e.g. the admin cert. */
  certPem?: string;
  keyPem?: string;
  /** Bearer token (e.g. a ServiceAccount token); used instead of / on top of the cert. */
  token?: string;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

export interface RequestOptions {
  /** Adds `dryRun=All`: the request goes through admission (webhooks included) but is not persisted. */
  dryRun?: boolean;
  /** Extra query parameters (labelSelector, fieldManager, ...). */
  query?: Record<string, string>;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** The subset of metav1.ObjectMeta the harness itself relies on. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Any Kubernetes object; the default result type. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export interface KubeList<T = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** metav1.Status, returned by the apiserver on errors (and some deletes). */
export interface KubeStatus {
  kind?: 'Status';
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

/** Non-2xx answer from the apiserver. `message` includes the Status message. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';

  constructor(
    readonly method: string,
    readonly path: string,
    /** HTTP status code (403, 404, 409, 422, ...). */
    readonly statusCode: number,
    /** Parsed Status body, when the apiserver sent one. */
    readonly status: KubeStatus | undefined,
    /** Raw response body. */
    readonly body: string,
  ) {
    const detail = status?.message ?? (body.trim().slice(0, 500) || '(empty body)');
    const reason = status?.reason ? `, reason ${status.reason}` : '';
    super(`${method} ${path} failed with HTTP ${statusCode}${reason}: ${detail}`);
  }

  /** Status reason, e.g. 'Forbidden', 'NotFound', 'AlreadyExists', 'Invalid'. */
  get reason(): string | undefined {
    return this.status?.reason;
  }
}

export interface ServiceAccountTokenOptions {
  /** Token lifetime; the apiserver enforces a minimum of 600 s. Default 3600. */
  expirationSeconds?: number;
  /** Defaults to the apiserver's audiences (its --service-account-issuer). */
  audiences?: string[];
}

export class KubeClient {
  readonly url: string;
  private readonly caPem: string;
  private readonly agent: https.Agent;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  /** Every `Warning` header the apiserver sent (admission webhooks' warnings arrive this way), oldest first. */
  readonly warnings: string[] = [];

  constructor(opts: KubeClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.caPem = opts.caPem;
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    // A private agent carries the TLS material. keepAlive is off so that no
    // idle socket keeps a jest worker alive after the test finished.
    this.agent = new https.Agent({
      ca: opts.caPem,
      ...(opts.certPem !== undefined ? { cert: opts.certPem } : {}),
      ...(opts.keyPem !== undefined ? { key: opts.keyPem } : {}),
      keepAlive: false,
    });
  }

  get<T = KubeObject>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, undefined, opts);
  }

  list<T = KubeObject>(path: string, opts?: RequestOptions): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', path, undefined, opts);
  }

  /** POST; `{dryRun: true}` sends `?dryRun=All`. */
  create<T = KubeObject>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, body, opts);
  }

  /** PUT (full replace; body needs metadata.resourceVersion for optimistic locking). */
  replace<T = KubeObject>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('PUT', path, body, opts);
  }

  /** PATCH; `apply` (server-side apply) needs `query: {fieldManager: ...}`. */
  patch<T = KubeObject>(
    path: string,
    body: unknown,
    opts?: RequestOptions & { patchType?: PatchType },
  ): Promise<T> {
    return this.request<T>('PATCH', path, body, opts, PATCH_CONTENT_TYPES[opts?.patchType ?? 'merge']);
  }

  /** DELETE; resolves to the deleted object or a Status, depending on the resource. */
  delete<T = KubeObject | KubeStatus>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', path, undefined, opts);
  }

  /** Issues a bound ServiceAccount token via the TokenRequest API. */
  async createServiceAccountToken(
    namespace: string,
    name: string,
    opts: ServiceAccountTokenOptions = {},
  ): Promise<string> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`;
    const spec: Record<string, unknown> = { expirationSeconds: opts.expirationSeconds ?? 3600 };
    if (opts.audiences !== undefined) spec['audiences'] = opts.audiences;
    const res = await this.create<{ status?: { token?: string } }>(path, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec,
    });
    const token = res.status?.token;
    if (!token) throw new Error(`POST ${path}: TokenRequest returned no status.token`);
    return token;
  }

  /** A client for the same apiserver authenticating with `token` only (no client cert). */
  withToken(token: string): KubeClient {
    return new KubeClient({
      url: this.url,
      caPem: this.caPem,
      token,
      timeoutMs: this.timeoutMs,
    });
  }

  /** GET of a non-JSON endpoint (e.g. `/metrics`, Prometheus text); resolves to the body as text. */
  async getText(path: string): Promise<string> {
    const { code, text, shownPath } = await this.send('GET', path, undefined, {}, 'text/plain');
    if (code >= 200 && code < 300) return text;
    throw new KubeApiError('GET', shownPath, code, asStatus(parseJson(text)), text);
  }

  /** Low-level request; resolves to the parsed JSON body (undefined for an empty body). */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: RequestOptions = {},
    contentType = 'application/json',
  ): Promise<T> {
    const { code, text, shownPath } = await this.send(method, path, body, opts, 'application/json', contentType);
    const parsed = parseJson(text);
    if (code >= 200 && code < 300) {
      if (text !== '' && parsed === undefined) {
        throw new Error(`${method} ${shownPath}: HTTP ${code} with a non-JSON body: ${text.slice(0, 200)}`);
      }
      return parsed as T;
    }
    throw new KubeApiError(method, shownPath, code, asStatus(parsed), text);
  }

  /** One HTTP exchange: the status code and the body as text (Warning headers are collected). */
  private send(
    method: string,
    path: string,
    body: unknown,
    opts: RequestOptions,
    accept: string,
    contentType = 'application/json',
  ): Promise<{ code: number; text: string; shownPath: string }> {
    const url = new URL(this.url + (path.startsWith('/') ? path : `/${path}`));
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    if (opts.dryRun) url.searchParams.set('dryRun', 'All');
    const shownPath = url.pathname + url.search;

    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: accept };
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(payload.length);
    }
    if (this.token !== undefined) headers['Authorization'] = `Bearer ${this.token}`;

    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, headers, agent: this.agent }, (res) => {
        const warning = res.headers['warning'];
        if (warning !== undefined) this.warnings.push(...(Array.isArray(warning) ? warning : [warning]));
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ code: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), shownPath }));
      });
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(new Error(`${method} ${shownPath}: no answer within ${this.timeoutMs} ms`));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/** True for a KubeApiError with the given HTTP status (e.g. `isStatus(e, 404)`). */
export function isStatus(err: unknown, statusCode: number): err is KubeApiError {
  return err instanceof KubeApiError && err.statusCode === statusCode;
}

function asStatus(value: unknown): KubeStatus | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  return (value as { kind?: unknown }).kind === 'Status' ? (value) : undefined;
}
