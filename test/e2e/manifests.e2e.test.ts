/** Every core-API object the manifests render, for both profiles (and the mtls overlay), passes the real apiserver's server-side dry-run. */
import {startControlPlane, type ControlPlane} from './harness/controlplane';
import {collectionPath, isCoreApi, render} from './support/manifests';

describe.each(['knative', 'deployment', 'deployment-mtls'] as const)('manifests/%s', profile => {
  // A fresh apiserver per profile: both profiles create the same namespace.
  let cp: ControlPlane;
  beforeAll(async () => (cp = await startControlPlane()));
  afterAll(async () => cp?.stop());

  it('server-side dry-run accepts every core-API object, and the rest are only cert-manager, Knative and Traefik kinds', async () => {
    const admin = cp.adminClient();
    const manifests = render(profile);
    const core = manifests.filter(isCoreApi);
    const other = manifests.filter(m => !isCoreApi(m));
    expect(other.filter(m => !/(^|\.)cert-manager\.io\/|(^|\.)knative\.dev\/|^traefik\.io\//.test(m.apiVersion)).map(m => `${m.apiVersion} ${m.kind}`)).toEqual([]);
    // The namespace is dry-run first, then created for real: namespaced objects can only be dry-run in
    // a namespace that exists.
    const ns = core.find(m => m.kind === 'Namespace');
    expect(ns).toBeDefined();
    await admin.create('/api/v1/namespaces', ns, {dryRun: true});
    await admin.create('/api/v1/namespaces', ns);
    const accepted: string[] = [`Namespace/${ns?.metadata.name}`];
    // The knative profile's bridge Service lives in Traefik's namespace, which Traefik's install makes.
    for (const other of new Set(core.map(m => m.metadata.namespace).filter(n => n !== undefined && n !== ns?.metadata.name))) {
      await admin.create('/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: other}});
    }
    for (const m of core.filter(o => o !== ns)) {
      await admin.create(collectionPath(m), m, {dryRun: true});
      accepted.push(`${m.kind}/${m.metadata.name}`);
    }
    expect(accepted).toHaveLength(core.length);
    expect(accepted).toEqual(expect.arrayContaining(['MutatingWebhookConfiguration/nsm-sidecar-injector', 'ConfigMap/nsm-sidecar-injector-config']));
  });
});
