/**
 * Wiring shared by every entry point (functions-framework in index.ts, the HTTPS server, tests):
 * read settings from the environment once, load and watch the config, build the handler.
 * This is the only module that reads `process.env`.
 */
import {ConfigSource, resolveConfigPath} from './config/source';
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

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const env = options.env ?? process.env;
  const logger = options.logger ?? jsonLogger(parseLogLevel(env['LOG_LEVEL']));
  const config = new ConfigSource({path: resolveConfigPath(env['INJECTOR_CONFIG']), logger});
  const first = config.load();
  if (options.watch ?? true) config.watch();
  logger.log(first.ok ? 'info' : 'error', 'nsm-sidecar-injector started', {
    configPath: config.path,
    configHash: first.ok ? first.value.hash : undefined,
    configErrors: first.ok ? undefined : first.errors,
  });
  const handle = createHandler({config: () => config.get(), logger});
  return {handle, config, logger, close: () => config.close()};
}
