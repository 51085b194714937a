/**
 * Types for the prom-client modules that ops/prom.ts loads one by one. Each of these files ends in
 * `module.exports = <Class>`, the class that the package's own declarations describe.
 */
declare module 'prom-client/lib/registry' {
  import {Registry} from 'prom-client';
  export = Registry;
}
declare module 'prom-client/lib/counter' {
  import {Counter} from 'prom-client';
  export = Counter;
}
declare module 'prom-client/lib/gauge' {
  import {Gauge} from 'prom-client';
  export = Gauge;
}
declare module 'prom-client/lib/histogram' {
  import {Histogram} from 'prom-client';
  export = Histogram;
}
