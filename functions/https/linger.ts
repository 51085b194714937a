/**
 * Closing a connection whose request body we refused without reading it (https/server.ts's 401,
 * 403 and 413, the knative gate's 411, 413 and 415, both entry points' 400 for a missing Host).
 * client-error.ts lingers the same way, within the same bounds, after what node's parser refused.
 *
 * We answer and close, but not at once. Node closes a `Connection: close` connection as soon as the
 * answer is written; if the client is still sending its body, unread bytes are left in our receive
 * buffer, and closing then makes the kernel send a TCP reset, which can wipe the answer from the
 * client's buffer before it is read (the reason nginx has `lingering_close`). So: half-close (our
 * answer, then FIN), read and drop, never keep, what still arrives for at most `ms` or `bytes`, then
 * close. A client that read the answer stops sending and closes its side first.
 */
import type {IncomingMessage} from 'node:http';

export const LINGER = {ms: 2_000, bytes: 4 * 1024 * 1024};

/** To be called before the refusal (with `Connection: close`) is written. */
export function closeAfterLinger(req: IncomingMessage): void {
  const socket = req.socket;
  let dropped = 0;
  let answered = false;
  const close = (): void => {
    socket.destroy();
  };
  // Read (and drop) from now on, not only once answered: node "dumps" the body of a request nobody
  // read when its answer ends, discarding what arrives without a 'data' event, so a listener added
  // then would count nothing and the byte limit would never apply (only the time limit).
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (answered && dropped > LINGER.bytes) close();
  });
  // destroySoon() is what node's HTTP server calls on this socket once the answer is written.
  socket.destroySoon = () => {
    answered = true;
    socket.end();
    if (dropped > LINGER.bytes) {
      close();
      return;
    }
    const timer = setTimeout(close, LINGER.ms);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}
