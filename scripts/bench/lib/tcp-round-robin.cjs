/**
 * A loopback TCP front for two or more replicas of the function (what a Service's ClusterIP does for
 * the apiserver in a cluster): each new connection goes to the next backend in turn, bytes pass
 * through untouched (TLS ends in the function, as it does behind a Service). Like kube-proxy it
 * balances connections, not requests: the apiserver keeps its webhook connections alive, so the
 * share of requests each replica gets is whatever its connections carry (the bench reports it).
 */
'use strict';
const net = require('node:net');

/** Listens on 127.0.0.1:0; resolves to {port, connections (per backend), close()}. */
async function startRoundRobin(backendPorts) {
  const connections = backendPorts.map(() => 0);
  const sockets = new Set();
  let next = 0;
  const server = net.createServer(client => {
    const i = next;
    next = (next + 1) % backendPorts.length;
    connections[i]++;
    const backend = net.connect(backendPorts[i], '127.0.0.1');
    for (const s of [client, backend]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(backend).pipe(client);
    // A reset on either side ends both (the apiserver sees the failure, as it would through a proxy).
    client.on('error', () => backend.destroy());
    backend.on('error', () => client.destroy());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    connections,
    close: () =>
      new Promise(resolve => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

module.exports = {startRoundRobin};
