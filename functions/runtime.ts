/**
 * Wiring shared by every entry point (functions-framework in index.ts, the HTTPS server, tests):
 * read settings from the environment once, load and watch the config, build the handler.
 * This is the only module that reads `process.env`.
 */
import {existsSync} from 'node:fs';
import {ConfigSource, resolveConfigPath} from './config/source';
import {ApiNamespaceSource, IN_CLUSTER_CA, IN_CLUSTER_TOKEN} from './kube/namespaces';
import {createHandler, type Handler} from './http/handler';
import {jsonLogger, parseLogLevel, type Logger} from './ops/log';

export interface Runtime {
  readonly handle: Handler;
  readonly config: ConfigSource;
  readonly logger: Logger;
  close(): void;
}

export interface RuntimeOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
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
    timeoutMs: Number(env['NAMESPACE_LOOKUP_TIMEOUT_MS'] ?? 1000),
    ttlMs: Number(env['NAMESPACE_CACHE_TTL_SECONDS'] ?? 30) * 1000,
  });
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const env = options.env ?? process.env;
  const logger = options.logger ?? jsonLogger(parseLogLevel(env['LOG_LEVEL']));
  const config = new ConfigSource({path: resolveConfigPath(env['INJECTOR_CONFIG']), logger});
  const first = config.load();
  if (options.watch ?? true) config.watch();
  const namespaces = namespaceSource(env, logger);
  logger.log(first.ok ? 'info' : 'error', 'nsm-sidecar-injector started', {
    configPath: config.path,
    configHash: first.ok ? first.value.hash : undefined,
    configErrors: first.ok ? undefined : first.errors,
    namespaceLookup: namespaces !== undefined,
  });
  const handle = createHandler({config: () => config.get(), logger, namespaces});
  return {
    handle,
    config,
    logger,
    close: () => {
      config.close();
      namespaces?.close();
    },
  };
}
