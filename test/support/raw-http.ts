/** HTTP/1.1 written by hand, for what a client library won't send (partial bodies, huge claims, lies). */
import {once} from 'node:events';
import {connect, type Socket} from 'node:net';
import {annotatedPod, review} from './fixtures';

export interface RawConnection<S extends Socket> {
  readonly socket: S;
  /** Everything received so far. */
  received(): string;
  readonly closed: Promise<void>;
}

/** Records what `socket` receives, once it is `ready` ('connect', or 'secureConnect' for TLS). */
export async function recorded<S extends Socket>(socket: S, ready: 'connect' | 'secureConnect'): Promise<RawConnection<S>> {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => {}); // a reset after the answer is expected in some tests
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()));
  await once(socket, ready);
  return {socket, received: () => text, closed};
}

/**
 * A plain TCP connection to 127.0.0.1:`port`. `allowHalfOpen`: keep sending after the server's FIN
 * (node's default is to end our side too), as a client that writes its whole body before reading does.
 */
export const plainConnection = (port: number, options: {allowHalfOpen?: boolean} = {}): Promise<RawConnection<Socket>> =>
  recorded(connect({port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false}), 'connect');

/** The status, the header block (lower-cased) and the body of the first response in `text`. */
export function parseResponse(text: string): {status: number; headers: string; body: string} {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  return {status, headers: head.toLowerCase(), body: split === -1 ? '' : text.slice(split + 4)};
}

/** Sends the headers and half the body of a review on `connection`, leaving the request in flight; `finish` sends the rest. */
export function halfSentReview(connection: RawConnection<Socket>, host: string): {finish: () => void; uid: string} {
  const sent = review(annotatedPod());
  const body = Buffer.from(JSON.stringify(sent));
  const half = Math.floor(body.length / 2);
  connection.socket.write(`POST /mutate?timeout=5s HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  connection.socket.write(body.subarray(0, half));
  return {finish: () => connection.socket.write(body.subarray(half)), uid: sent.request.uid};
}

/**
 * Writes up to `total` body bytes on `connection` as fast as it takes them, and stops when the
 * server closes it: how much the server let the client send (bytes handed to the socket, at most one
 * 256 KiB chunk beyond what the kernel took).
 */
export async function sendUntilClosed(connection: RawConnection<Socket>, total: number): Promise<number> {
  const {socket, closed} = connection;
  let gone = false;
  void closed.then(() => (gone = true));
  const chunk = Buffer.alloc(256 * 1024, 'a');
  let sent = 0;
  while (sent < total && !gone && !socket.destroyed) {
    const flowing = socket.write(chunk);
    sent += chunk.length;
    // 'drain' never comes to a socket that was reset: `once` rejects on its 'error', or the close ends the wait.
    if (!flowing) await Promise.race([once(socket, 'drain').catch(() => undefined), closed]);
  }
  return sent;
}
