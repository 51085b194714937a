/**
 * Item 4: certificate renewal under load. A steady stream of annotated pod creations runs while the
 * serving certificate is renewed the way `cmctl renew` does it (the Issuing condition on the
 * Certificate's status; cmctl itself is a module the Go proxy does not serve). cert-manager issues a
 * new key and certificate into the Secret, the kubelet swaps the pods' Secret volume, and each injector
 * pod serves the new certificate without a restart. No pod of the stream may lose its sidecars.
 */
import {X509Certificate} from 'node:crypto';
import * as tls from 'node:tls';
import type {MutatingWebhookConfiguration} from 'kubernetes-types/admissionregistration/v1';
import type {Secret} from 'kubernetes-types/core/v1';
import {figure, kubectl, kubectlJson, sleep, until, webhookFailOpenCount} from './support/cluster';
import {INJECTOR_NAMESPACE, injectorPods} from './support/injector';
import {startPodStream} from './support/stream';
import {injectorAndNamespace} from './support/workloads';

const SERVICE_NAME = 'nsm-sidecar-injector.nsm-sidecar-injector.svc';

const namespace = injectorAndNamespace('renewal');

async function servingSecret(): Promise<{serial: string; ca: string}> {
  const secret = await kubectlJson<Secret>(['-n', INJECTOR_NAMESPACE, 'get', 'secret', 'nsm-sidecar-injector-tls']);
  const pem = Buffer.from(secret.data!['tls.crt']!, 'base64').toString();
  return {serial: new X509Certificate(pem).serialNumber, ca: Buffer.from(secret.data!['ca.crt']!, 'base64').toString()};
}

/**
 * The serial of the certificate `host:8443` serves, verified the way the apiserver verifies it:
 * against the CA, for the Service's DNS name.
 */
function servedSerial(host: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({host, port: 8443, servername: SERVICE_NAME, ca, timeout: 5000}, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber;
      socket.destroy();
      if (serial) resolve(serial);
      else reject(new Error(`no certificate from ${host}`));
    });
    socket.on('error', reject);
    socket.on('timeout', () => socket.destroy(new Error(`TLS handshake with ${host} timed out`)));
  });
}

test('cmctl-style renewal under a stream of pod creations: new certificate served without a restart, no pod uninjected', async () => {
  const before = await servingSecret();
  const pods = await injectorPods();
  const identity = pods.map(p => `${p.metadata!.uid}/${p.status?.containerStatuses?.[0]?.restartCount}`).sort();
  const ips = pods.map(p => p.status!.podIP!);
  for (const ip of ips) expect(await servedSerial(ip, before.ca)).toBe(before.serial);
  const caBundle = (await kubectlJson<MutatingWebhookConfiguration>(['get', 'mutatingwebhookconfiguration', 'nsm-sidecar-injector'])).webhooks?.[0]?.clientConfig.caBundle;

  const failOpenBefore = await webhookFailOpenCount();
  const stream = startPodStream(namespace(), 250);
  await sleep(5000);
  const t0 = Date.now();
  // What `cmctl renew` does: mark the Certificate as Issuing (reason ManuallyTriggered) in its status.
  await kubectl(['-n', INJECTOR_NAMESPACE, 'patch', 'certificate', 'nsm-sidecar-injector-serving', '--subresource=status', '--type=json', '-p',
    JSON.stringify([{op: 'add', path: '/status/conditions/-', value: {
      type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'Certificate re-issuance manually triggered',
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    }}])]);

  const after = await until('a new certificate in the Secret', async () => {
    const s = await servingSecret();
    return s.serial !== before.serial ? s : undefined;
  }, 60_000);
  figure('cert renewal: Issuing set to new certificate in the Secret', (Date.now() - t0) / 1000, 's');
  await until('both injector pods serving the new certificate', async () => {
    const served = await Promise.all(ips.map(ip => servedSerial(ip, after.ca).catch(() => '')));
    return served.every(s => s === after.serial) ? true : undefined;
  }, 180_000, 1000);
  figure('cert renewal: Issuing set to new certificate served by both pods', (Date.now() - t0) / 1000, 's');
  await sleep(5000);
  const result = await stream.stop();
  figure('cert renewal: pods created during the renewal', result.created, 'pods');
  figure('cert renewal: pods admitted without sidecars', result.uninjected.length, 'pods');

  expect(result.errors).toEqual([]);
  expect(result.created).toBeGreaterThan(50);
  expect(result.uninjected).toEqual([]);
  // The apiserver's side: no call to the webhook failed (and was let through) meanwhile.
  expect(await webhookFailOpenCount()).toBe(failOpenBefore);
  // The CA did not change (rotationPolicy Never on the CA), so the caBundle still holds; no restarts.
  expect(after.ca).toBe(before.ca);
  expect((await kubectlJson<MutatingWebhookConfiguration>(['get', 'mutatingwebhookconfiguration', 'nsm-sidecar-injector'])).webhooks?.[0]?.clientConfig.caBundle).toBe(caBundle);
  const now = await injectorPods();
  expect(now.map(p => `${p.metadata!.uid}/${p.status?.containerStatuses?.[0]?.restartCount}`).sort()).toEqual(identity);
});
