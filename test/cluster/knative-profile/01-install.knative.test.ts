/**
 * Knative item 1: the knative profile installs with `kubectl apply -k` on a cluster whose apiserver
 * can't resolve cluster DNS (a host process using the host's resolver, as on kubeadm, kind or k3s),
 * and the apiserver reaches it: TLS to the bridge Service's ClusterIP verified with the caBundle
 * cert-manager injected from our own CA, pods injected. For contrast, a webhook built the old way
 * (clientConfig naming the ExternalName Service Knative makes) fails with the apiserver's DNS error.
 */
import {X509Certificate} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {connect, type PeerCertificate} from 'node:tls';
import type {Pod} from 'kubernetes-types/core/v1';
import {admin, clusterState, figure, kubectl, kubectlJson, until, webhookFailOpenCount} from '../support/cluster';
import {INJECTOR_NAMESPACE} from '../support/injector';
import {APP_IMAGE, NETWORK_SERVICES, NOWHERE, NSM_ANNOTATION, deleteNamespace, freshNamespace, isInjected} from '../support/workloads';
import {BRIDGE, BRIDGE_HOST, applyKnativeProfile, bridgeClusterIp, caBundle, revisionPods} from './support';

const CONTROL = 'nsm-test-externalname-control';
let ns = '';

beforeAll(async () => {
  ns = await freshNamespace('knative-install');
});

afterAll(async () => {
  await kubectl(['delete', 'mutatingwebhookconfiguration', CONTROL, '--ignore-not-found']);
  if (ns) await deleteNamespace(ns);
});

const annotatedPod = (name: string): Record<string, unknown> => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {name, annotations: {[NSM_ANNOTATION]: NETWORK_SERVICES}},
  spec: {nodeSelector: NOWHERE, containers: [{name: 'app', image: APP_IMAGE}]},
});

test('cluster DNS serves pods, and the apiserver does not use it', async () => {
  // Pods resolve Services by name (Knative's autoscaler and activator need that).
  const dns = await kubectlJson<{spec: {clusterIP: string}}>(['-n', 'kube-system', 'get', 'service', 'kube-dns']);
  const endpoints = await kubectlJson<{items: Array<{endpoints?: unknown[]}>}>(['-n', 'kube-system', 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=kube-dns']);
  expect(endpoints.items.flatMap(e => e.endpoints ?? []).length).toBeGreaterThan(0);
  // The apiserver is a host process: its resolver is the host's /etc/resolv.conf, which doesn't name
  // the cluster DNS (and nothing here may resolve *.svc.cluster.local for it).
  const resolvConf = readFileSync('/etc/resolv.conf', 'utf8');
  expect(resolvConf).not.toContain(dns.spec.clusterIP);
  const [apiserverPid] = readFileSync(join(clusterState(), 'pids', 'kube-apiserver.pid'), 'utf8').trim().split(' ');
  expect(readFileSync(`/proc/${apiserverPid}/root/etc/resolv.conf`, 'utf8')).toBe(resolvConf);
});

test('kubectl apply -k manifests/knative: certificates, caBundle from our CA, Knative Service Ready', async () => {
  const t0 = Date.now();
  const revision = await applyKnativeProfile();
  figure('knative: apply -k to Knative Service Ready', (Date.now() - t0) / 1000, 's');
  expect(revision).toMatch(/^nsm-sidecar-injector-\d{5}$/);
  // The caBundle is our own CA's certificate, which the serving Certificate's Secret carries.
  const secret = await kubectlJson<{data: Record<string, string>}>(['-n', INJECTOR_NAMESPACE, 'get', 'secret', 'nsm-sidecar-injector-tls']);
  expect(await caBundle()).toBe(Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString('utf8'));
  // The webhook names the bridge Service, which has a ClusterIP and endpoints on Traefik's pod.
  const clientConfig = await kubectlJson<{webhooks: Array<{clientConfig: {service: Record<string, unknown>}}>}>(['get', 'mutatingwebhookconfiguration', 'nsm-sidecar-injector']);
  expect(clientConfig.webhooks[0]?.clientConfig.service).toMatchObject({namespace: BRIDGE.namespace, name: BRIDGE.name, port: 443});
  await bridgeClusterIp();
  expect((await revisionPods()).length).toBeGreaterThan(0);
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
    const p = await admin().create<Pod>(`/api/v1/namespaces/${ns}/pods`, annotatedPod('injected'), {dryRun: true});
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
  const ca = Buffer.from(await caBundle()).toString('base64');
  await kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: {name: CONTROL},
    webhooks: [{
      name: 'control.externalname.test', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', timeoutSeconds: 5,
      clientConfig: {service: {namespace: INJECTOR_NAMESPACE, name: 'nsm-sidecar-injector', path: '/mutate', port: 80}, caBundle: ca},
      rules: [{operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced'}],
      namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': ns}},
    }],
  }));
  const log = join(clusterState(), 'logs', 'kube-apiserver.log');
  const seen = readFileSync(log, 'utf8').length;
  const failOpen = async (): Promise<number> => {
    const text = await kubectl(['get', '--raw', '/metrics']);
    return text.split('\n').filter(l => l.startsWith('apiserver_admission_webhook_fail_open_count{') && l.includes('name="control.externalname.test"'))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  };
  const before = await failOpen();
  // Our webhook still injects the pod; the control one failed open.
  const pod = await until('a pod admitted past the control webhook', async () => {
    const p = await admin().create<Pod>(`/api/v1/namespaces/${ns}/pods`, annotatedPod('control'), {dryRun: true});
    return (await failOpen()) > before ? p : undefined;
  }, 60_000, 2000);
  expect(isInjected(pod)).toBe(true);
  const newLog = readFileSync(log, 'utf8').slice(seen);
  const line = newLog.split('\n').find(l => l.includes('control.externalname.test'));
  expect(line).toBeDefined();
  expect(line).toMatch(/no such host|lookup .*svc\.cluster\.local/);
});
