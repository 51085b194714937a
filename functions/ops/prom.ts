/**
 * The four prom-client classes we use, loaded file by file instead of through the package index.
 *
 * Why: the index also loads the default process metrics (which pull in @opentelemetry/api), the
 * Pushgateway client, Summary's t-digest and the cluster aggregator, none of which we use. Measured
 * with `node -e` on Node 20 (median of 11 runs): `require('prom-client')` 50 ms cold, 17-26 ms once
 * the rest of the function is loaded; these four files 4 ms. A scale-to-zero function pays that on
 * every cold start. prom-client 15 has no `exports` map, so these paths resolve; their types are
 * declared in prom-client-lib.d.ts, and test/imports.test.ts fails if the index gets loaded again.
 */
import Registry from 'prom-client/lib/registry';
import Counter from 'prom-client/lib/counter';
import Gauge from 'prom-client/lib/gauge';
import Histogram from 'prom-client/lib/histogram';

export {Counter, Gauge, Histogram, Registry};
