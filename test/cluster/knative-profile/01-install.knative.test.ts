/**
 * Knative item 1: the knative profile installs with `kubectl apply -k` on a cluster whose apiserver
 * can't resolve cluster DNS (a host process using the host's resolver, as on kubeadm, kind or k3s),
 * and the apiserver reaches it: TLS to the bridge Service's ClusterIP verified with the caBundle
 * cert-manager injected from our own CA, pods injected. For contrast, a webhook built the old way
 * (clientConfig naming the ExternalName Service Knative makes) fails with the apiserver's DNS error.
 */
import {X509Certificate} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {get} from 'node:http';
import {connect, type PeerCertificate} from 'node:tls';
import type {Pod} from 'kubernetes-types/core/v1';
import {figure, kubectl, kubectlJson, until, webhookFailOpenCount} from '../support/cluster';
import {INJECTOR_NAMESPACE} from '../support/injector';
import {APP_IMAGE, annotatedPod, deleteNamespace, dryRunPod, freshNamespace, isInjected} from '../support/workloads';
import {BRIDGE, BRIDGE_HOST, applyKnativeProfile, bridgeClusterIp, caBundle, deleteExternalNameControl, throughExternalNameControl} from './support';

let ns = '';

beforeAll(async () => {
  ns = await freshNamespace('knative-install');
});

afterAll(async () => {
  await deleteExternalNameControl();
  if (ns) await deleteNamespace(ns);
});

test('the cluster DNS runs, and the apiserver does not use it', async () => {
  // Knative's autoscaler and activator find each other and the Revisions by name (scale to zero, in
  // 02, needs it).
  const dns = await kubectlJson<{spec: {clusterIP: string}}>(['-n', 'kube-system', 'get', 'service', 'kube-dns']);
  const endpoints = await kubectlJson<{items: Array<{endpoints?: unknown[]}>}>(['-n', 'kube-system', 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=kube-dns']);
  expect(endpoints.items.flatMap(e => e.endpoints ?? []).length).toBeGreaterThan(0);
  // The apiserver is a host process, so its resolver is the host's /etc/resolv.conf, which doesn't
  // name the cluster DNS. (That it really can't resolve cluster names is shown by the last test.)
  expect(readFileSync('/etc/resolv.conf', 'utf8')).not.toContain(dns.spec.clusterIP);
});

test('kubectl apply -k manifests/knative: certificates, caBundle from our CA, Knative Service Ready', async () => {
  const t0 = Date.now();
  const revision = await applyKnativeProfile();
  figure('knative: apply -k to Knative Service Ready', (Date.now() - t0) / 1000, 's');
  expect(revision).toMatch(/^nsm-sidecar-injector-\d{5}$/);
  // The caBundle is our own CA's certificate, which the serving Certificate's Secret carries.
  const secret = await kubectlJson<{data: Record<string, string>}>(['-n', INJECTOR_NAMESPACE, 'get', 'secret', 'nsm-sidecar-injector-tls']);
  expect(await caBundle()).toBe(Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString('utf8'));
  // The webhook names the bridge Service, which has a ClusterIP and a ready endpoint on Traefik's
  // tls-internal port (the one aggregator routing would dial).
  const clientConfig = await kubectlJson<{webhooks: Array<{clientConfig: {service: Record<string, unknown>}}>}>(['get', 'mutatingwebhookconfiguration', 'nsm-sidecar-injector']);
  expect(clientConfig.webhooks[0]?.clientConfig.service).toMatchObject({namespace: BRIDGE.namespace, name: BRIDGE.name, port: 443});
  await bridgeClusterIp();
  const slices = await kubectlJson<{items: Array<{ports?: Array<{name?: string; port?: number}>; endpoints?: Array<{conditions?: {ready?: boolean}}>}>}>(
    ['-n', BRIDGE.namespace, 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${BRIDGE.name}`]);
  expect(slices.items.flatMap(s => s.ports ?? [])).toEqual([expect.objectContaining({name: 'https', port: 8444})]);
  expect(slices.items.flatMap(s => s.endpoints ?? []).filter(e => e.conditions?.ready === true).length).toBeGreaterThan(0);
});

test("TLS to the bridge's ClusterIP as the apiserver makes it: SNI nsm-sidecar-injector.traefik.svc, verified by the caBundle", async () => {
  const ip = await bridgeClusterIp();
  const ca = await caBundle();
  const secret = await kubectlJson<{data: Record<string, string>}>(['-n', INJECTOR_NAMESPACE, 'get', 'secret', 'nsm-sidecar-injector-tls']);
  const served = await new Promise<PeerCertificate>((resolve, reject) => {
    const socket = connect({host: ip, port: 443, servername: BRIDGE_HOST, ca, ALPNProtocols: ['http/1.1']}, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
  // Traefik serves our serving certificate (not its default one), and it verified against our CA.
  const ours = new X509Certificate(Buffer.from(secret.data['tls.crt'] ?? '', 'base64'));
  expect(served.fingerprint256).toBe(ours.fingerprint256);
  expect(served.subjectaltname).toContain(`DNS:${BRIDGE_HOST}`);
});

test('the apiserver calls the function through Traefik and Knative: an annotated pod is injected', async () => {
  const before = await webhookFailOpenCount();
  const pod = await until('an annotated pod injected', async () => {
    const p = await dryRunPod(ns, 'injected');
    return isInjected(p) ? p : undefined;
  }, 120_000, 2000);
  expect(pod.spec?.containers.map(c => c.name)).toContain('cmd-nsc');
  expect(await webhookFailOpenCount()).toBe(before);
});

test("the old design fails here: a webhook naming Knative's ExternalName Service gets the apiserver's DNS error", async () => {
  // Knative's own Service for the Knative Service: ExternalName, pointing at Traefik's private Service
  // by its cluster DNS name, which the apiserver's resolver doesn't know.
  const external = await kubectlJson<{spec: {type: string; externalName: string}}>(['-n', INJECTOR_NAMESPACE, 'get', 'service', 'nsm-sidecar-injector']);
  expect(external.spec.type).toBe('ExternalName');
  expect(external.spec.externalName).toMatch(/\.svc\.cluster\.local$/);
  const {pod, apiserverSaid} = await throughExternalNameControl(ns, annotatedPod('control'));
  // Our webhook still injected the pod; the control one failed open, for want of DNS.
  expect(isInjected(pod)).toBe(true);
  expect(apiserverSaid).toMatch(/no such host|lookup .*svc\.cluster\.local/);
});

test("the route guard: nobody else's route on tls-internal, no Knative object sharing our Traefik service key", async () => {
  const refusal = async (object: Record<string, unknown>, namespace: string): Promise<string> =>
    kubectl(['-n', namespace, 'create', '--dry-run=server', '-f', '-'], JSON.stringify(object)).then(() => 'created', (error: Error) => error.message);
  const route = (name: string, entryPoints?: string[]): Record<string, unknown> => ({
    apiVersion: 'traefik.io/v1alpha1', kind: 'IngressRoute', metadata: {name},
    // Traefik's built-in noop service: a backend that needs no Service of its own.
    spec: {...(entryPoints ? {entryPoints} : {}), routes: [{kind: 'Rule', match: `Host(\`${BRIDGE_HOST}\`)`, services: [{kind: 'TraefikService', name: 'noop@internal'}]}]},
  });
  expect(await refusal(route('hijack', ['tls-internal']), ns)).toMatch(/entrypoint tls-internal carries the NSM sidecar injector's admission webhook/);
  expect(await refusal({
    apiVersion: 'traefik.io/v1alpha1', kind: 'IngressRouteTCP', metadata: {name: 'hijack-tcp'},
    spec: {entryPoints: ['web', 'tls-internal'], routes: [{match: 'HostSNI(`*`)', services: [{name: 'kubernetes', port: 443}]}], tls: {}},
  }, ns)).toMatch(/entrypoint tls-internal carries/);
  // The same route in the injector's own namespace, and another namespace's route on other entrypoints, pass.
  expect(await refusal(route('allowed', ['tls-internal']), INJECTOR_NAMESPACE)).toBe('created');
  expect(await refusal(route('elsewhere', ['web']), ns)).toBe('created');

  // A Knative Service whose <namespace>-<name> is ours, in another namespace.
  const clash = 'nsm-sidecar-injector-nsm';
  await kubectl(['create', 'namespace', clash]);
  try {
    expect(await refusal({apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: {name: 'sidecar-injector'}, spec: {template: {spec: {containers: [{image: APP_IMAGE}]}}}}, clash))
      .toMatch(/same Traefik service key/);
  } finally {
    await kubectl(['delete', 'namespace', clash, '--wait=false']);
  }

  // A route naming no entrypoint lands on Traefik's default ones only, never on tls-internal.
  await kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify(route('no-entrypoint')));
  const traefik = (await kubectlJson<{items: Pod[]}>(['-n', 'traefik', 'get', 'pods', '-l', 'app.kubernetes.io/name=traefik'])).items[0];
  const entryPoints = await until('Traefik to serve the route that names no entrypoint', async () => {
    const routers = await new Promise<Array<{name: string; entryPoints?: string[]}>>((resolve, reject) => {
      get({host: traefik?.status?.podIP, port: 9000, path: '/api/http/routers?per_page=1000'}, res => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(JSON.parse(text) as Array<{name: string; entryPoints?: string[]}>));
      }).on('error', reject);
    });
    return routers.find(r => r.name.startsWith(`${ns}-no-entrypoint-`))?.entryPoints;
  }, 60_000, 1000);
  expect(entryPoints).toEqual(expect.arrayContaining(['web']));
  expect(entryPoints).not.toContain('tls-internal');
});
