/**
 * The function as functions-framework serves it: `functions-framework --target=mutate
 * --signature-type=http`. Everything here is translation between express and the framework-free
 * handler (http/handler.ts); decisions live in core/ and admission/.
 */
import {http, type Request, type Response} from '@google-cloud/functions-framework';
import type {HttpAnswer} from './http/errors';
import type {RequestBody} from './http/handler';
import {listenProblem, onFirstListen} from './ops/listen';
import {createRuntime} from './runtime';

/** Exported for the knative entry point (knative/main.ts), which serves this same function. */
export const runtime = createRuntime();

// The framework listens on PORT after loading this module: say "started" once it does, and turn a
// port it can't have into one line and exit status 1 (the framework would crash with a stack trace).
onFirstListen({
  listening: port => runtime.started({port, protocol: 'http'}),
  failed: error => {
    const port = process.env['PORT'] ?? '8080';
    runtime.logger.log('error', `cannot serve: ${listenProblem(error, port)}`, {port, code: (error as NodeJS.ErrnoException).code});
    runtime.close();
    process.exit(1);
  },
});

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

function send(res: Response, answer: HttpAnswer): void {
  // node's own writeHead/end: express's send() would re-encode the body and compute an ETag for
  // every answer (docs/benchmarks.md).
  res.writeHead(answer.status, {...answer.headers, 'content-length': Buffer.byteLength(answer.body)});
  res.end(answer.body);
}

/**
 * Synchronous when the handler is (no namespace lookup to wait for): the framework runs every call
 * in a `domain`, under which each promise pays for async hooks (docs/benchmarks.md).
 */
export function mutate(req: Request, res: Response): void | Promise<void> {
  const answer = runtime.handle({method: req.method, path: req.path, body: bodyOf(req)});
  if (answer instanceof Promise) return answer.then(settled => send(res, settled));
  send(res, answer);
}

http('mutate', mutate);
