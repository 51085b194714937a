/**
 * The function as the deployment profile runs it (`node dist/functions/https/main.js`): a real
 * process serving real TLS, its decision log lines captured for assertions.
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {request} from 'node:https';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {startService} from '../../support/process';
import type {TestCerts} from '../../support/test-ca';

export interface WebhookProcess {
  readonly port: number;
  readonly url: string;
  /** Every JSON log line the process printed so far. */
  logs(): Array<Record<string, unknown>>;
  rawOutput(): string;
  stop(): Promise<void>;
}

function healthy(port: number, caPem: string): Promise<boolean> {
  return new Promise(resolve => {
    const req = request({host: '127.0.0.1', port, path: '/healthz', ca: caPem, servername: 'localhost', timeout: 1000}, res => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export interface WebhookProcessOptions {
  readonly port: number;
  /** The serving certificate (written to a folder), or `certDir`: a folder already holding tls.crt and tls.key. */
  readonly certs: TestCerts;
  readonly certDir?: string;
  /** The function's environment on top of this process's (a key set to undefined is left out). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export async function startWebhookProcess(options: WebhookProcessOptions): Promise<WebhookProcess & {readonly pid: number}> {
  let certDir = options.certDir;
  if (certDir === undefined) {
    certDir = mkdtempSync(join(tmpdir(), 'nsm-e2e-tls-'));
    writeFileSync(join(certDir, 'tls.crt'), options.certs.certPem);
    writeFileSync(join(certDir, 'tls.key'), options.certs.keyPem);
  }
  const service = await startService(
    'the webhook process',
    process.execPath,
    ['dist/functions/https/main.js'],
    {LOG_LEVEL: 'info', ...options.env, PORT: String(options.port), TLS_CERT_DIR: certDir, SHUTDOWN_GRACE_SECONDS: '2'},
    () => healthy(options.port, options.certs.caPem),
  );
  return {
    pid: service.pid,
    port: options.port,
    url: `https://127.0.0.1:${options.port}/mutate`,
    rawOutput: service.output,
    logs: () =>
      service
        .output()
        .split('\n')
        .filter(l => l.startsWith('{'))
        .map(l => JSON.parse(l) as Record<string, unknown>),
    stop: service.stop,
  };
}
