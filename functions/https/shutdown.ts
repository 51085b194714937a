/**
 * Stopping our own servers on SIGTERM (the kubelet stopping the pod) or SIGINT: shared by the HTTPS
 * entry point (https/main.ts) and the knative one (knative/main.ts). functions-framework's CLI
 * registers handlers of its own for the server it starts; these entry points start theirs.
 */
import type {Logger} from '../ops/log';

/** What draining needs of a node:http or node:https server. */
interface Closable {
  close(callback: () => void): unknown;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

/**
 * Stops accepting connections and lets requests in flight finish; resolves true once the last
 * connection is gone, or false when `graceMs` ran out first (the remaining connections are then
 * cut). Busy keep-alive connections close after their response only if that response carries
 * `Connection: close`: the server's request handler adds it once draining.
 */
export function drainServer(server: Closable, graceMs: number): Promise<boolean> {
  return new Promise<boolean>(resolve => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve(false);
    }, graceMs);
    timer.unref();
    // close(): no new connections; calls back once every open connection has closed. Idle
    // keep-alive connections are closed now.
    server.close(() => {
      clearTimeout(timer);
      resolve(true);
    });
    server.closeIdleConnections();
  });
}

export interface StopOptions {
  readonly logger: Logger;
  /** Keep serving this long after the signal (while the endpoint is removed from the Service). */
  readonly delayMs: number;
  /** Then wait at most this long for requests in flight. */
  readonly graceMs: number;
  /** Stops accepting and drains: true when every request finished, false when some were cut off. */
  readonly drain: (graceMs: number) => Promise<boolean>;
  /** Releases the rest (watchers, queues) before exiting. */
  readonly close: () => void;
}

/** On the first SIGTERM or SIGINT: wait `delayMs`, drain, close, exit 0 (clean) or 1 (requests cut off). */
export function stopOnSignals(options: StopOptions): void {
  const {logger, delayMs, graceMs} = options;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'stopping', {signal, delaySeconds: delayMs / 1000, graceSeconds: graceMs / 1000});
    setTimeout(() => {
      void options.drain(graceMs).then(clean => {
        options.close();
        logger.log(clean ? 'info' : 'warn', clean ? 'stopped' : 'stopped; requests still in flight were cut off after the grace period');
        process.exit(clean ? 0 : 1);
      });
    }, delayMs);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
