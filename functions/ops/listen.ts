/**
 * Whether the server got its port, for the entry points' startup line: "started" only once it
 * listens, and a busy or forbidden port as one line instead of a stack trace.
 *
 * functions-framework creates the server and calls listen() itself, after loading the function, and
 * exposes neither; Node's `net.server.listen` tracing channel (Node >= 22.3, within `engines`) reports
 * the outcome of every listen() in the process, and the function's process has only that one server.
 */
import {tracingChannel} from 'node:diagnostics_channel';
import type {Server} from 'node:net';

export interface ListenOutcome {
  listening(port: number | undefined): void;
  failed(error: Error): void;
}

interface ListenMessage {
  readonly server: Server;
  readonly error?: unknown;
}

const portOf = (server: Server): number | undefined => {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : undefined;
};

/** Calls `outcome` for the first listen() of the process, then stops listening to the channel. */
export function onFirstListen(outcome: ListenOutcome): void {
  const channel = tracingChannel<ListenMessage, ListenMessage>('net.server.listen');
  let settled = false;
  const ignore = (): void => undefined;
  const subscribers = {
    start: ignore,
    end: ignore,
    asyncStart: ignore,
    asyncEnd: (message: ListenMessage): void => settle(() => outcome.listening(portOf(message.server))),
    error: (message: ListenMessage): void => settle(() => outcome.failed(message.error instanceof Error ? message.error : new Error(String(message.error)))),
  };
  const settle = (report: () => void): void => {
    if (settled) return;
    settled = true;
    // Not while the channel is publishing to us.
    setImmediate(() => channel.unsubscribe(subscribers));
    report();
  };
  channel.subscribe(subscribers);
}

/** Why a listen() failed, in words, with what to do about it. */
export function listenProblem(error: Error, port: number | string | undefined): string {
  const problems: Readonly<Record<string, string>> = {
    EADDRINUSE: `port ${port} is already in use by another process; set PORT to a free port`,
    EACCES: `no permission to listen on port ${port} (ports below 1024 need privileges); set PORT to another port`,
    EADDRNOTAVAIL: 'the address to listen on is not available on this machine',
  };
  const code = (error as NodeJS.ErrnoException).code;
  return (code === undefined ? undefined : problems[code]) ?? error.message;
}
