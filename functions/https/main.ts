/**
 * The deployment profile's entry point: `node dist/functions/https/main.js`.
 *
 * Same runtime as the functions-framework entry (createRuntime: config from INJECTOR_CONFIG, reloaded
 * on change; JSON logs), served over HTTPS with the certificate in TLS_CERT_DIR, reloaded on
 * change. On SIGTERM (the kubelet stopping the pod) it keeps serving for SHUTDOWN_DELAY_SECONDS,
 * while the endpoint is removed from the Service, then stops accepting connections, lets requests in
 * flight finish for up to SHUTDOWN_GRACE_SECONDS, and exits.
 */
import {listenProblem} from '../ops/listen';
import {createRuntime} from '../runtime';
import {CertificateFolder, type KeyPair} from './certificates';
import {createWebhookServer} from './server';
import {readSettings, type HttpsSettings} from './settings';

function start(settings: HttpsSettings): void {
  const runtime = createRuntime();
  const {logger} = runtime;

  // The server needs the first pair to be created; the folder needs the server to hand it new ones.
  let onNewPair: (pair: KeyPair) => void = () => {};
  const certificates = new CertificateFolder({dir: settings.certDir, logger, pollMs: settings.certPollMs, onChange: pair => onNewPair(pair)});
  const first = certificates.load();
  if (!first.ok) {
    // Without a certificate there is nothing to serve; exiting lets the kubelet retry (and shows
    // the reason in the pod's status) rather than running a server nobody can reach.
    runtime.close();
    process.exitCode = 1;
    return;
  }
  const webhook = createWebhookServer({handle: runtime.handle, logger, pair: first.pair, onRefusal: code => runtime.metrics.refusal(code)});
  onNewPair = pair => webhook.setCertificate(pair);
  certificates.watch();

  let listening = false;
  webhook.server.on('error', error => {
    if (listening) logger.log('error', 'HTTPS server failed', {error: String(error)});
    else logger.log('error', `cannot serve: ${listenProblem(error, settings.port)}`, {port: settings.port, code: (error as NodeJS.ErrnoException).code});
    process.exit(1);
  });
  webhook.server.listen(settings.port, () => {
    listening = true;
    const address = webhook.server.address();
    runtime.started({port: typeof address === 'object' && address !== null ? address.port : settings.port, protocol: 'https'});
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'stopping', {signal, delaySeconds: settings.shutdownDelayMs / 1000, graceSeconds: settings.shutdownGraceMs / 1000});
    setTimeout(() => {
      void webhook.drain(settings.shutdownGraceMs).then(clean => {
        certificates.close();
        runtime.close();
        logger.log(clean ? 'info' : 'warn', clean ? 'stopped' : 'stopped; requests still in flight were cut off after the grace period');
        process.exit(clean ? 0 : 1);
      });
    }, settings.shutdownDelayMs);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

try {
  start(readSettings(process.env));
} catch (error) {
  process.stderr.write(`nsm-sidecar-injector: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
