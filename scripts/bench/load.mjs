/**
 * The load generator, run as its own process so it never shares an event loop with a server:
 *   node scripts/bench/load.mjs '{"url":"http://127.0.0.1:8080/mutate","bodyFile":"/tmp/review.json",
 *                                 "connections":10,"durationSec":10,"warmupSec":2}'
 * or with "amount": N instead of "durationSec" (then bounded by "maxSec" too). Uses autocannon's
 * API; latencies are recorded here from each response (autocannon's own histogram keeps whole
 * milliseconds, too coarse for loopback). Prints one JSON line: requests, req/s, p50/p99 (ms),
 * errors, and `hist`: the latencies as [10 µs bucket, count] pairs, so that runs can be merged.
 */
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {histogram, percentile} from './lib/stats.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

const spec = JSON.parse(process.argv[2]);
const body = readFileSync(spec.bodyFile);

function once(options) {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 16);
    let count = 0;
    const instance = autocannon(
      {
        url: spec.url,
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body,
        connections: spec.connections,
        pipelining: 1,
        timeout: 10,
        ...options,
      },
      (error, result) => (error ? reject(error) : resolve({result, latencies: latencies.subarray(0, count)})),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) return;
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = responseTime;
    });
    // A safety bound on every run, whatever the options say.
    const limit = setTimeout(() => instance.stop(), (spec.maxSec ?? 120) * 1000);
    instance.once('done', () => clearTimeout(limit));
  });
}

if (spec.warmupSec > 0) await once({duration: spec.warmupSec});
const {result, latencies} = await once(spec.amount ? {amount: spec.amount} : {duration: spec.durationSec});
const sorted = Float64Array.from(latencies).sort();
const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
const total = result.requests.total;
process.stdout.write(
  `${JSON.stringify({
    requests: total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSec: result.duration,
    rps: total / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean,
    max: sorted[sorted.length - 1],
    hist: histogram(sorted),
  })}\n`,
);
