/**
 * Wiring shared by every entry point (functions-framework in index.ts, the HTTPS server, tests):
 * read settings from the environment once, load and watch the config, build the handler.
 * The injection's settings are read here and nowhere else (the HTTPS entry point reads only its own:
 * PORT, TLS_CERT_DIR and the shutdown timings, in https/settings.ts).
 */
import {existsSync} from 'node:fs';
import {configFromNsmEnv, nsmSettingsIn} from './config/nsm-env';
import type {ParsedConfig} from './config/parse';
import {ConfigSource, resolveConfigPath} from './config/source';
import {ApiNamespaceSource, IN_CLUSTER_CA, IN_CLUSTER_TOKEN} from './kube/namespaces';
import {createHandler, type Handler} from './http/handler';
import {auditSettings, sinkForLogs} from './ops/audit-settings';
import {createAuditTrail, type AuditTrail} from './ops/audit-trail';
import {jsonLogger, parseLogLevel, type Logger} from './ops/log';
import {createMetrics, type InjectorMetrics} from './ops/metrics';
import {injectorVersion} from './ops/version';

export interface Runtime {
  readonly handle: Handler;
  readonly config: ConfigSource;
  readonly logger: Logger;
  /** This runtime's own metrics registry (served at GET /metrics). */
  readonly metrics: InjectorMetrics;
  /** The audit event queue, when K_SINK is set. */
  readonly audit: AuditTrail | undefined;
  /** Logs the startup line (version, config, settings): to be called once the server listens. */
  started(serving: {port: number | undefined; protocol: 'http' | 'https'}): void;
  close(): void;
}

export interface RuntimeOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Replaces the JSON logger (then LOG_LEVEL is not read). */
  readonly logger?: Logger;
  /** Where the JSON logger writes its lines (default stdout); LOG_LEVEL still applies. */
  readonly logWrite?: (line: string) => void;
  /** Watch the config file for changes (default true). */
  readonly watch?: boolean;
}

/**
 * The namespace lookup, from the environment: NAMESPACE_LOOKUP=auto (default: on when running in a
 * cluster), on, or off. KUBE_API_URL, KUBE_TOKEN_FILE and KUBE_CA_FILE override the in-cluster
 * defaults (the end-to-end suite runs the function outside the cluster with a real token).
 */
function namespaceSource(env: NodeJS.ProcessEnv, logger: Logger): ApiNamespaceSource | undefined {
  const mode = env['NAMESPACE_LOOKUP'] ?? 'auto';
  if (mode === 'off') return undefined;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const inCluster = host === undefined ? undefined : `https://${host.includes(':') ? `[${host}]` : host}:${env['KUBERNETES_SERVICE_PORT'] ?? '443'}`;
  const apiUrl = env['KUBE_API_URL'] ?? inCluster;
  const tokenFile = env['KUBE_TOKEN_FILE'] ?? IN_CLUSTER_TOKEN;
  const caFile = env['KUBE_CA_FILE'] ?? IN_CLUSTER_CA;
  if (apiUrl === undefined || !existsSync(tokenFile) || !existsSync(caFile)) {
    if (mode === 'on') logger.log('error', 'namespace lookup is on but the API is not configured', {apiUrl, tokenFile, caFile});
    return undefined;
  }
  return new ApiNamespaceSource({
    apiUrl,
    tokenFile,
    caFile,
    timeoutMs: positiveNumber(env, 'NAMESPACE_LOOKUP_TIMEOUT_MS', 1000, logger),
    ttlMs: positiveNumber(env, 'NAMESPACE_CACHE_TTL_SECONDS', 30, logger) * 1000,
  });
}

/** A positive number from the environment; a bad value is logged and the default used instead. */
function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, logger: Logger): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (Number.isFinite(value) && value > 0) return value;
  logger.log('error', `${name} must be a positive number; using the default`, {value: raw.slice(0, 40), default: fallback});
  return fallback;
}

/**
 * Where the config comes from: INJECTOR_CONFIG when set; else, when NSM's own webhook settings are
 * in the environment (a drop-in for its Deployment), those on top of the bundled default
 * (config/nsm-env.ts); else the bundled default.
 */
function configParser(env: NodeJS.ProcessEnv, logger: Logger): ((text: string) => ParsedConfig) | undefined {
  const nsm = nsmSettingsIn(env);
  if (nsm.length === 0) return undefined;
  if ((env['INJECTOR_CONFIG'] ?? '') !== '') {
    logger.log('warn', "NSM's webhook settings ignored: INJECTOR_CONFIG is set and wins", {ignored: nsm});
    return undefined;
  }
  return text => {
    const built = configFromNsmEnv(text, env);
    if (!built.ok) return built;
    logger.log('info', "config built from NSM's webhook settings", {settings: built.settings, notes: built.notes.length > 0 ? built.notes : undefined, configHash: built.value.hash});
    return {ok: true, value: built.value};
  };
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const env = options.env ?? process.env;
  const logger = options.logger ?? jsonLogger(parseLogLevel(env['LOG_LEVEL']), options.logWrite);
  const version = injectorVersion();
  const metrics = createMetrics(version);
  const parse = configParser(env, logger);
  const config = new ConfigSource({path: resolveConfigPath(env['INJECTOR_CONFIG']), logger, parse, onLoad: result => metrics.configLoad(result)});
  const first = config.load();
  if (options.watch ?? true) config.watch();
  const namespaces = namespaceSource(env, logger);
  const settings = auditSettings(env, logger);
  const audit = settings === undefined ? undefined : createAuditTrail(settings, {logger, onResult: result => metrics.cloudEvent(result)});
  if (audit !== undefined) metrics.watchQueue(() => audit.length);
  const started = (serving: {port: number | undefined; protocol: 'http' | 'https'}): void => {
    const current = config.get();
    logger.log(current !== undefined ? 'info' : 'error', 'nsm-sidecar-injector started', {
      ...serving,
      version,
      configPath: config.path,
      configFrom: parse === undefined ? undefined : 'NSM_* settings',
      configHash: current?.hash,
      configErrors: current === undefined && !first.ok ? first.errors : undefined,
      namespaceLookup: namespaces !== undefined,
      auditSink: settings === undefined ? undefined : sinkForLogs(settings.sink),
      auditEventMode: settings?.mode,
      auditEventSource: settings?.source,
    });
  };
  const handle = createHandler({
    config: () => config.get(),
    logger,
    namespaces,
    onDecision: record => {
      metrics.decision(record);
      audit?.record(record);
    },
    onRefusal: code => metrics.refusal(code),
    metrics: () => metrics.page(),
  });
  return {
    handle,
    config,
    logger,
    metrics,
    audit,
    started,
    close: () => {
      config.close();
      namespaces?.close();
      audit?.close();
    },
  };
}
