/**
 * Preloaded (`node -r`) into every server the benchmark starts, ours and the floors alike, so
 * that all of them run under the same conditions. Two things, neither touching the code measured:
 *
 * 1. Loopback only. functions-framework calls `server.listen(port)`, which binds every interface;
 *    here a listen() given a port and no host binds 127.0.0.1 instead.
 * 2. A heap probe for the memory benchmark: with BENCH_HEAP_FILE set (and node started with
 *    --expose-gc), SIGUSR2 runs a full GC and writes process.memoryUsage() to that file.
 */
'use strict';
const net = require('node:net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  // listen(port[, backlog][, callback]) with a numeric (or numeric-string) port and no host.
  const [port, second] = args;
  const portOnly = (typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port))) && typeof second !== 'string';
  if (portOnly) {
    const callback = args.find(a => typeof a === 'function');
    return callback === undefined ? listen.call(this, Number(port), '127.0.0.1') : listen.call(this, Number(port), '127.0.0.1', callback);
  }
  if (port !== null && typeof port === 'object' && !Array.isArray(port) && port.path === undefined && port.host === undefined) {
    return listen.call(this, {...port, host: '127.0.0.1'}, ...args.slice(1));
  }
  return listen.apply(this, args);
};

const heapFile = process.env.BENCH_HEAP_FILE;
if (heapFile) {
  const fs = require('node:fs');
  process.on('SIGUSR2', () => {
    if (typeof global.gc === 'function') {
      global.gc();
      global.gc();
    }
    fs.writeFileSync(`${heapFile}.tmp`, JSON.stringify(process.memoryUsage()));
    fs.renameSync(`${heapFile}.tmp`, heapFile);
  });
}
