/**
 * The function as functions-framework serves it: `functions-framework --target=mutate
 * --signature-type=http`. Everything here is translation between express and the framework-free
 * handler (http/handler.ts); decisions live in core/ and admission/.
 */
import {http, type Request, type Response} from '@google-cloud/functions-framework';
import type {RequestBody} from './http/handler';
import {createRuntime} from './runtime';

const runtime = createRuntime();

// Client certificates are the HTTPS entry point's (https/main.ts). Here TLS ends before the function
// (at Knative's ingress, or nowhere with plain `npm start`) and no certificate reaches it: say so,
// rather than look as if callers were checked (docs/tls.md).
if ((process.env['CLIENT_CA_FILE'] ?? '') !== '') {
  runtime.logger.log('warn', 'CLIENT_CA_FILE is ignored: this entry point never sees client certificates; callers are not checked', {entryPoint: 'functions-framework'});
}

/** The framework has already read (and for JSON, parsed) the body; reuse its work. */
function bodyOf(req: Request): RequestBody | undefined {
  const raw = req.rawBody;
  if (raw === undefined) return undefined;
  if (req.is('application/json') && req.body !== undefined && typeof req.body === 'object') return {parsed: req.body, size: raw.length};
  return {bytes: raw};
}

export async function mutate(req: Request, res: Response): Promise<void> {
  const answer = await runtime.handle({method: req.method, path: req.path, body: bodyOf(req)});
  // node's own writeHead/end: express's send() would re-encode the body and compute an ETag for
  // every answer (docs/benchmarks.md).
  res.writeHead(answer.status, {...answer.headers, 'content-length': Buffer.byteLength(answer.body)});
  res.end(answer.body);
}

http('mutate', mutate);
