/**
 * The same injection as ours, written as a Pepr capability and served by Pepr's own admission
 * server (Pepr 1.1.4's Controller: express + node:https, its logging, metrics and store). This is
 * what `pepr build` bundles and Pepr's controller forks in a cluster, minus the bundling: a
 * module whose capability mutates Pods that carry the NSM annotation. The injection itself is our
 * core's (dist/functions/core/inject-object.js, the default config), so that the two servers do
 * the same work per review and differ only in what surrounds it.
 *
 *   PEPR_DIR=.cache/bench/pepr PORT=... PEPR_API_PATH=token SSL_KEY_PATH=... SSL_CERT_PATH=...
 *   KUBECONFIG=... node scripts/bench/pepr/module.cjs
 * KUBECONFIG points at the fake apiserver (fake-apiserver.mjs) that serves Pepr's store.
 */
'use strict';
const {readFileSync} = require('node:fs');
const {createRequire} = require('node:module');
const {join} = require('node:path');

const root = join(__dirname, '..', '..', '..');
const peprRequire = createRequire(join(process.env.PEPR_DIR ?? join(root, '.cache', 'bench', 'pepr'), 'package.json'));
const {Capability, PeprModule, a} = peprRequire('pepr');
const {injectObject} = require(join(root, 'dist', 'functions', 'core', 'inject-object.js'));
const {parseConfig} = require(join(root, 'dist', 'functions', 'config', 'parse.js'));

const parsed = parseConfig(readFileSync(join(root, 'manifests', 'base', 'config.yaml'), 'utf8'));
if (!parsed.ok) throw new Error(`default config invalid: ${parsed.errors.join('; ')}`);
const versioned = parsed.value;

const nsm = new Capability({
  name: 'nsm-injector',
  description: 'Injects the NSM client sidecars into pods that ask for network services',
  namespaces: [],
});

// Pepr's filters run in-process: a Pod without the annotation is answered "no matching actions".
nsm.When(a.Pod)
  .IsCreated()
  .WithAnnotation(versioned.config.annotation)
  .Mutate(request => {
    const result = injectObject({kind: {group: '', kind: 'Pod'}, object: request.Raw, seed: request.Request.uid}, versioned);
    // Pepr diffs request.Raw against the request's object: put the injected pod in its place.
    if (result.object !== request.Raw) {
      request.Raw.metadata = result.object.metadata;
      request.Raw.spec = result.object.spec;
    }
  });

const peprModule = new PeprModule(
  {
    description: 'nsm-sidecar-injector benchmark module',
    pepr: {uuid: 'nsm-bench', onError: 'ignore', webhookTimeout: 10, alwaysIgnore: {namespaces: []}, includedFiles: [], env: {}},
  },
  [nsm],
  {deferStart: true},
);
peprModule.start(Number(process.env.PORT ?? 3000));
