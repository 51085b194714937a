/**
 * The bare floors: plain node:http (or node:https, with TLS_CERT_DIR holding tls.crt and tls.key)
 * doing what the echo function does: read the body, JSON.parse it, answer an empty allowed
 * AdmissionReview with the request's uid. No framework, no routing, no validation.
 *   PORT=8080 node scripts/bench/servers/echo-bare.mjs
 *   PORT=8443 TLS_CERT_DIR=/tmp/tls node scripts/bench/servers/echo-bare.mjs
 */
import {readFileSync} from 'node:fs';
import {createServer as createHttpServer} from 'node:http';
import {createServer as createHttpsServer} from 'node:https';
import {join} from 'node:path';

const port = Number(process.env.PORT ?? 8080);
const certDir = process.env.TLS_CERT_DIR;

function onRequest(req, res) {
  const chunks = [];
  req.on('data', chunk => chunks.push(chunk));
  req.on('end', () => {
    let review;
    try {
      review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, {'content-type': 'application/json'});
      res.end('{"error":{"code":"malformed-json","message":"bad JSON"}}');
      return;
    }
    const uid = typeof review?.request?.uid === 'string' ? review.request.uid : '';
    const apiVersion = typeof review?.apiVersion === 'string' ? review.apiVersion : 'admission.k8s.io/v1';
    const body = JSON.stringify({apiVersion, kind: 'AdmissionReview', response: {uid, allowed: true}});
    res.writeHead(200, {'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body)});
    res.end(body);
  });
}

const server = certDir
  ? createHttpsServer({cert: readFileSync(join(certDir, 'tls.crt')), key: readFileSync(join(certDir, 'tls.key')), minVersion: 'TLSv1.2'}, onRequest)
  : createHttpServer(onRequest);
server.keepAliveTimeout = 120_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
