/**
 * The deployment profile's entry point: `node dist/functions/https/main.js`.
 *
 * Same runtime as the functions-framework entry (createRuntime: config from INJECTOR_CONFIG, reloaded
 * on change; JSON logs), served over HTTPS with the certificate in TLS_CERT_DIR, reloaded on
 * change; with CLIENT_CA_FILE, callers must present a certificate from that CA (also reloaded). On
 * SIGTERM (the kubelet stopping the pod) it keeps serving for SHUTDOWN_DELAY_SECONDS, while the
 * endpoint is removed from the Service, then stops accepting connections, lets requests in flight
 * finish for up to SHUTDOWN_GRACE_SECONDS, and exits.
 */
import {listenProblem} from '../ops/listen';
import {createRuntime} from '../runtime';
import {certificateFolder, type KeyPair} from './certificates';
import {clientCaFile, type ClientCaBundle} from './client-ca';
import type {ClientAuthOptions} from './caller-check';
import {createWebhookServer, type WebhookServer} from './server';
import {readSettings, type HttpsSettings} from './settings';
import {stopOnSignals} from './shutdown';

function start(settings: HttpsSettings): void {
  const runtime = createRuntime();
  const {logger} = runtime;

  // The server needs the first pair (and client CA bundle) to be created; the watchers hand it new
  // ones (only after `watch()`, by which time `server` exists).
  const certificates = certificateFolder({dir: settings.certDir, logger, pollMs: settings.certPollMs, onChange: (pair: KeyPair) => server.setCertificate(pair)});
  const clientCas =
    settings.clientCaFile === undefined
      ? undefined
      : clientCaFile({file: settings.clientCaFile, logger, pollMs: settings.certPollMs, onChange: (bundle: ClientCaBundle) => server.setClientCa(bundle.pem)});
  const first = certificates.load();
  const firstCa = clientCas?.load();
  if (!first.ok || (firstCa !== undefined && !firstCa.ok)) {
    // Without a certificate there is nothing to serve; without the client CA that was asked for,
    // the server would either let anyone call or refuse everyone. Exiting lets the kubelet retry
    // (and shows the reason in the pod's status) rather than run a server that can't do its job.
    runtime.close();
    process.exitCode = 1;
    return;
  }
  const clientAuth: ClientAuthOptions | undefined =
    firstCa === undefined ? undefined : {ca: firstCa.value.pem, ...(settings.clientAllowedNames === undefined ? {} : {allowedNames: settings.clientAllowedNames})};
  const server: WebhookServer = createWebhookServer({handle: runtime.handle, logger, pair: first.value, ...(clientAuth === undefined ? {} : {clientAuth}), onRefusal: code => runtime.metrics.refusal(code)});
  certificates.watch();
  clientCas?.watch();
  if (clientAuth !== undefined) logger.log('info', 'client certificates required', {allowedNames: settings.clientAllowedNames ?? 'any the client CA verifies'});

  let listening = false;
  server.server.on('error', error => {
    if (listening) logger.log('error', 'HTTPS server failed', {error: String(error)});
    else logger.log('error', `cannot serve: ${listenProblem(error, settings.port)}`, {port: settings.port, code: (error as NodeJS.ErrnoException).code});
    process.exit(1);
  });
  server.server.listen(settings.port, () => {
    listening = true;
    const address = server.server.address();
    runtime.started({port: typeof address === 'object' && address !== null ? address.port : settings.port, protocol: 'https'});
  });

  stopOnSignals({
    logger,
    delayMs: settings.shutdownDelayMs,
    graceMs: settings.shutdownGraceMs,
    drain: graceMs => server.drain(graceMs),
    close: () => {
      certificates.close();
      clientCas?.close();
      runtime.close();
    },
  });
}

try {
  start(readSettings(process.env));
} catch (error) {
  process.stderr.write(`nsm-sidecar-injector: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
