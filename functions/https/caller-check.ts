/**
 * The caller check of the HTTPS server with CLIENT_CA_FILE: a verdict per connection (client-auth.ts)
 * taken at its first request, refusals logged once per burst rather than once per caller (a flood of
 * unauthenticated connections must not become a flood of log lines), and which connections were
 * verified against a CA bundle that has since been replaced.
 */
import type {IncomingMessage} from 'node:http';
import type {TLSSocket} from 'node:tls';
import {BurstLog} from '../ops/burst-log';
import type {Logger} from '../ops/log';
import {allowedNameSet, CLIENT_REFUSAL_CODES, clientVerdict, peerIdentity, type ClientRefusalCode, type ClientVerdict} from './client-auth';

/** Callers must present a certificate from these CAs (CLIENT_CA_FILE) and, if given, with one of these names. */
export interface ClientAuthOptions {
  /** PEM CA certificates. */
  readonly ca: string;
  /** Subject CNs or SAN DNS names allowed to call (CLIENT_ALLOWED_NAMES); absent: any the CAs verify. */
  readonly allowedNames?: readonly string[];
}

export type Refusal = Extract<ClientVerdict, {ok: false}>;

interface Connection {
  /** The CA bundle generation its handshake was verified against. */
  readonly generation: number;
  verdict?: ClientVerdict;
}

export class CallerCheck {
  private readonly allowed: ReadonlySet<string> | undefined;
  private readonly connections = new WeakMap<TLSSocket, Connection>();
  private readonly refusals: BurstLog<ClientRefusalCode>;
  private generation = 0;

  constructor(options: ClientAuthOptions, logger: Logger) {
    this.allowed = allowedNameSet(options.allowedNames);
    this.refusals = new BurstLog({
      logger,
      level: 'warn',
      kinds: CLIENT_REFUSAL_CODES,
      started: 'caller refused (client certificate); more refusals are counted, and summed up when this burst ends',
      ended: 'callers refused in this burst',
    });
  }

  /** A handshake just completed (the server's `secureConnection`). */
  connected(socket: TLSSocket): void {
    this.connections.set(socket, {generation: this.generation});
  }

  verdict(socket: TLSSocket): ClientVerdict {
    let connection = this.connections.get(socket);
    if (connection === undefined) {
      // Not seen connecting (cannot happen with the server's listener in place): treat as current.
      connection = {generation: this.generation};
      this.connections.set(socket, connection);
    }
    connection.verdict ??= clientVerdict(peerIdentity(socket), this.allowed);
    return connection.verdict;
  }

  /** The CA bundle was replaced: connections verified before are now stale. */
  caChanged(): void {
    this.generation += 1;
  }

  /** Verified against a replaced CA bundle: close it after this answer, so the caller reconnects and is verified anew. */
  stale(socket: TLSSocket): boolean {
    const connection = this.connections.get(socket);
    return connection !== undefined && connection.generation !== this.generation;
  }

  refused(refusal: Refusal, req: IncomingMessage, path: string): void {
    this.refusals.note(refusal.code, {code: refusal.code, peer: refusal.peer, remoteAddress: req.socket.remoteAddress, method: req.method, path});
  }

  /** Logs the open burst's totals (at shutdown). */
  end(): void {
    this.refusals.end();
  }
}
