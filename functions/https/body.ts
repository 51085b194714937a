/**
 * Reading a request body with a ceiling. The body is a stream: we count bytes as they arrive and
 * stop at the first chunk that crosses the limit, so a client can make us hold at most `limit`
 * bytes (plus one chunk), however much it sends or claims to send. A Content-Length above the limit
 * is refused before a single body byte is read.
 */
import type {IncomingMessage} from 'node:http';

export type BodyResult =
  | {readonly ok: true; readonly bytes: Buffer}
  | {readonly ok: false; readonly reason: 'too-large'; readonly received: number; readonly declared: number | undefined}
  | {readonly ok: false; readonly reason: 'aborted'; readonly received: number};

/** The declared Content-Length, or undefined when absent or not a plain decimal number. */
export function declaredLength(req: Pick<IncomingMessage, 'headers'>): number | undefined {
  const header = req.headers['content-length'];
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
}

export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) return Promise.resolve({ok: false, reason: 'too-large', received: 0, declared});
  return new Promise(resolve => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (result: BodyResult): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        // Stop here: no more reading, nothing more kept. The caller answers 413 and closes.
        req.pause();
        chunks.length = 0;
        finish({ok: false, reason: 'too-large', received, declared});
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish({ok: true, bytes: Buffer.concat(chunks, received)});
    const onAbort = (): void => finish({ok: false, reason: 'aborted', received});
    req.on('data', onData);
    req.on('end', onEnd);
    // The client went away mid-body: 'error' (ECONNRESET), or at least 'close' without 'end'.
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}
