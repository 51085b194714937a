/**
 * For `--explain`: our runtime (createRuntime: handler, decision log line, metrics) served by the
 * plainest node:https (TLS_CERT_DIR) or node:http server: read the body, call the handler, write the
 * answer. Against it, the HTTPS entry point's own cost (body ceiling, timeouts, drain) shows.
 */
import {readFileSync} from 'node:fs';
import {createServer as createHttpServer} from 'node:http';
import {createServer as createHttpsServer} from 'node:https';
import {createRequire} from 'node:module';
import {join} from 'node:path';

const require = createRequire(import.meta.url);
const {createRuntime} = require('../../../dist/functions/runtime.js');
const runtime = createRuntime();
const certDir = process.env.TLS_CERT_DIR;

function onRequest(req, res) {
  const chunks = [];
  req.on('data', chunk => chunks.push(chunk));
  req.on('end', () => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const send = answer => {
      res.writeHead(answer.status, {...answer.headers, 'content-length': Buffer.byteLength(answer.body)});
      res.end(answer.body);
    };
    // The handler answers synchronously unless it has a namespace lookup to wait for.
    const answer = runtime.handle({method: req.method ?? 'GET', path, body: {bytes: Buffer.concat(chunks)}});
    if (answer instanceof Promise) void answer.then(send);
    else send(answer);
  });
}

const server = certDir
  ? createHttpsServer({cert: readFileSync(join(certDir, 'tls.crt')), key: readFileSync(join(certDir, 'tls.key')), minVersion: 'TLSv1.2'}, onRequest)
  : createHttpServer(onRequest);
server.keepAliveTimeout = 120_000;
server.listen(Number(process.env.PORT ?? 8443), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
