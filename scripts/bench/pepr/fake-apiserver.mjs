/**
 * The least of a kube-apiserver Pepr's admission server needs to start: its store. Pepr's
 * StoreController reads its PeprStore (`peprstores.pepr.dev` in pepr-system), patches a label on
 * it, lists and watches it, and binds its /mutate endpoint once the watch has delivered the store.
 * Served here over plain HTTP on loopback, from memory; any other request is answered 404 and
 * counted (`unexpected`), so that a Pepr that wants more shows it.
 */
import {createServer} from 'node:http';
import {writeFileSync} from 'node:fs';

const STORES = /^\/apis\/pepr\.dev\/v1\/namespaces\/pepr-system\/peprstores(?:\/([^/?]+))?$/;

function store(name) {
  return {
    apiVersion: 'pepr.dev/v1',
    kind: 'PeprStore',
    metadata: {name, namespace: 'pepr-system', uid: `uid-${name}`, resourceVersion: '1', labels: {}},
    data: {__pepr_do_not_delete__: 'k-thx-bye'},
  };
}

/** Starts the fake apiserver; resolves {url, kubeconfig(file), requests, unexpected, close()}. */
export async function startFakeApiserver(kubeconfigFile) {
  const requests = [];
  const unexpected = [];
  const watches = new Set();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = STORES.exec(url.pathname);
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const send = (status, body) => {
      res.writeHead(status, {'content-type': 'application/json'});
      res.end(JSON.stringify(body));
    };
    req.resume();
    if (match === null) {
      unexpected.push(`${req.method} ${url.pathname}`);
      return send(404, {kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404});
    }
    const named = match[1] ?? /metadata\.name=([^,&]+)/.exec(url.searchParams.get('fieldSelector') ?? '')?.[1];
    if (url.searchParams.get('watch') === 'true') {
      // A watch that stays open and quiet: the list before it delivered the store.
      res.writeHead(200, {'content-type': 'application/json', 'transfer-encoding': 'chunked'});
      res.flushHeaders();
      watches.add(res);
      res.on('close', () => watches.delete(res));
      return undefined;
    }
    if (match[1] === undefined) {
      return send(200, {apiVersion: 'pepr.dev/v1', kind: 'PeprStoreList', metadata: {resourceVersion: '1'}, items: named ? [store(named)] : []});
    }
    return send(200, store(match[1]));
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  writeFileSync(
    kubeconfigFile,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // Plain HTTP on loopback: client-node accepts an http:// server only with TLS verification off.
      clusters: [{name: 'fake', cluster: {server: url, 'insecure-skip-tls-verify': true}}],
      users: [{name: 'bench', user: {token: 'bench'}}],
      contexts: [{name: 'fake', context: {cluster: 'fake', user: 'bench'}}],
      'current-context': 'fake',
    }),
  );
  return {
    url,
    requests,
    unexpected,
    close: () =>
      new Promise(resolve => {
        for (const res of watches) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
