/**
 * A load generator that opens a new TLS connection for every request (no keep-alive, no session
 * resumption: a full handshake each time, as the kube-apiserver's Go client does on a new
 * connection), run as its own process:
 *   node scripts/bench/handshakes.mjs '{"url":"https://127.0.0.1:8443/mutate","bodyFile":"/tmp/review.json",
 *     "caFile":"ca.crt","certFile":"client.crt","keyFile":"client.key","workers":8,"durationSec":3,"expectStatus":200}'
 * certFile/keyFile are optional (no client certificate then). Prints one JSON line: requests,
 * `expected` (answers with expectStatus), `other` (other statuses), errors, req/s, p50/p99 (ms) and
 * `hist` ([10 µs bucket, count] pairs, mergeable across rounds).
 */
import {readFileSync} from 'node:fs';
import {request} from 'node:https';
import {histogram, percentile} from './lib/stats.mjs';

const spec = JSON.parse(process.argv[2]);
const body = readFileSync(spec.bodyFile);
const tls = {
  ca: readFileSync(spec.caFile),
  ...(spec.certFile ? {cert: readFileSync(spec.certFile), key: readFileSync(spec.keyFile)} : {}),
};

function once() {
  return new Promise(resolve => {
    const started = performance.now();
    const req = request(spec.url, {method: 'POST', agent: false, ...tls, headers: {'content-type': 'application/json', 'content-length': body.length}, timeout: 10_000}, res => {
      res.resume();
      res.on('end', () => resolve({status: res.statusCode, ms: performance.now() - started}));
      res.on('error', () => resolve({error: true}));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({error: true}));
    req.end(body);
  });
}

const counts = {requests: 0, expected: 0, other: 0, errors: 0};
const latencies = [];
const deadline = performance.now() + spec.durationSec * 1000;
const t0 = performance.now();
await Promise.all(
  Array.from({length: spec.workers}, async () => {
    while (performance.now() < deadline) {
      const result = await once();
      counts.requests++;
      if (result.error) counts.errors++;
      else if (result.status === spec.expectStatus) {
        counts.expected++;
        latencies.push(result.ms);
      } else counts.other++;
    }
  }),
);
const durationSec = (performance.now() - t0) / 1000;
const sorted = Float64Array.from(latencies).sort();
process.stdout.write(`${JSON.stringify({...counts, durationSec, rps: counts.requests / durationSec, p50: percentile(sorted, 50), p99: percentile(sorted, 99), hist: histogram(sorted)})}\n`);
