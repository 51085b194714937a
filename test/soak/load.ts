/**
 * A bounded load generator for the soak tests: `workers` loops POSTing until `durationMs` passes or
 * `maxRequests` were sent, over loopback only, recording every outcome.
 */
import {readFileSync} from 'node:fs';
import type {Agent as HttpAgent} from 'node:http';
import {request as httpRequest} from 'node:http';
import type {Agent as HttpsAgent} from 'node:https';
import {request as httpsRequest} from 'node:https';

export interface Outcome {
  readonly status: number;
  readonly body: string;
  readonly error?: string;
  /** For https: whether the TLS handshake had completed (so the request could be sent). */
  readonly handshook?: boolean;
}

export interface LoadOptions {
  readonly url: string;
  readonly body: () => string;
  readonly workers: number;
  readonly durationMs: number;
  readonly maxRequests: number;
  readonly agent?: HttpAgent | HttpsAgent;
  readonly ca?: string;
  readonly onOutcome: (outcome: Outcome) => void;
}

export function post(url: string, body: string, options: {agent?: HttpAgent | HttpsAgent; ca?: string} = {}): Promise<Outcome> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  let handshook = false;
  return new Promise(resolve => {
    const req = send(
      u,
      {
        method: 'POST',
        headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)},
        ...(options.agent ? {agent: options.agent} : {}),
        ...(options.ca ? {ca: options.ca, servername: 'localhost'} : {}),
        timeout: 10_000,
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), handshook}));
        res.on('error', e => resolve({status: 0, body: '', error: e.message, handshook}));
      },
    );
    // A reused keep-alive socket finished its handshake long ago; a new one reports it.
    req.on('socket', socket => {
      if (!socket.connecting) handshook = true;
      else socket.once('secureConnect', () => (handshook = true));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', e => resolve({status: 0, body: '', error: e.message, handshook}));
    req.end(body);
  });
}

/** Runs the load; resolves with the number of requests sent. */
export async function runLoad(options: LoadOptions): Promise<number> {
  const deadline = Date.now() + options.durationMs;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline && sent < options.maxRequests) {
      sent++;
      options.onOutcome(await post(options.url, options.body(), {...(options.agent ? {agent: options.agent} : {}), ...(options.ca ? {ca: options.ca} : {})}));
    }
  };
  await Promise.all(Array.from({length: options.workers}, worker));
  return sent;
}

/** Resident memory of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}
