/**
 * The HTTPS entry point's settings, read from an environment (main.ts passes process.env). The
 * injection's own settings (INJECTOR_CONFIG, LOG_LEVEL) stay with createRuntime.
 *
 *   PORT                     port to listen on (8443)
 *   TLS_CERT_DIR             folder holding tls.crt and tls.key: the cert-manager Secret's mount
 *                            (/etc/nsm-sidecar-injector/tls)
 *   SHUTDOWN_DELAY_SECONDS   on SIGTERM, keep serving this long before closing the listener (0)
 *   SHUTDOWN_GRACE_SECONDS   then wait at most this long for in-flight requests (15)
 *   TLS_RELOAD_POLL_SECONDS  safety-net re-read of the certificate folder (and client CA file) (30)
 *   CLIENT_CA_FILE           PEM CA bundle: callers must present a certificate it verifies
 *                            (mutual TLS; unset: no client certificate asked for)
 *   CLIENT_ALLOWED_NAMES     comma-separated subject CNs or SAN DNS names that may call (needs
 *                            CLIENT_CA_FILE; unset: any certificate the CAs verify)
 */

export interface HttpsSettings {
  readonly port: number;
  readonly certDir: string;
  readonly shutdownDelayMs: number;
  readonly shutdownGraceMs: number;
  readonly certPollMs: number;
  readonly clientCaFile?: string;
  readonly clientAllowedNames?: readonly string[];
}

export const DEFAULT_CERT_DIR = '/etc/nsm-sidecar-injector/tls';

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number of seconds >= 0, not ${JSON.stringify(raw)}`);
  return Math.round(value * 1000);
}

/** CLIENT_ALLOWED_NAMES: names separated by commas, blanks around them ignored; none is an error. */
function allowedNames(raw: string): string[] {
  const names = raw.split(',').map(n => n.trim());
  if (names.some(n => n === '' || /\s/.test(n))) {
    throw new Error(`CLIENT_ALLOWED_NAMES must be names separated by commas (subject CNs or DNS names), not ${JSON.stringify(raw)}`);
  }
  return names;
}

function clientAuthSettings(env: NodeJS.ProcessEnv): Pick<HttpsSettings, 'clientCaFile' | 'clientAllowedNames'> {
  const caFile = env['CLIENT_CA_FILE'];
  const names = env['CLIENT_ALLOWED_NAMES'];
  const hasNames = names !== undefined && names.trim() !== '';
  if (caFile === undefined || caFile === '') {
    // Names without a CA would check nothing: say so rather than run open while looking closed.
    if (hasNames) throw new Error('CLIENT_ALLOWED_NAMES needs CLIENT_CA_FILE: without a client CA no caller certificate is asked for');
    return {};
  }
  return {clientCaFile: caFile, ...(hasNames ? {clientAllowedNames: allowedNames(names)} : {})};
}

/** PORT, or `fallback` when unset; throws naming the variable when it is no port number. */
export function portSetting(env: NodeJS.ProcessEnv, fallback: number): number {
  const rawPort = env['PORT'];
  const port = rawPort === undefined || rawPort === '' ? fallback : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, not ${JSON.stringify(rawPort)}`);
  return port;
}

/** SHUTDOWN_DELAY_SECONDS (0) and SHUTDOWN_GRACE_SECONDS (15): also the knative entry point's. */
export function shutdownSettings(env: NodeJS.ProcessEnv): Pick<HttpsSettings, 'shutdownDelayMs' | 'shutdownGraceMs'> {
  return {shutdownDelayMs: seconds(env, 'SHUTDOWN_DELAY_SECONDS', 0), shutdownGraceMs: seconds(env, 'SHUTDOWN_GRACE_SECONDS', 15)};
}

/** Throws with a message naming the bad variable; main.ts turns that into exit code 1. */
export function readSettings(env: NodeJS.ProcessEnv): HttpsSettings {
  const port = portSetting(env, 8443);
  const certPollMs = seconds(env, 'TLS_RELOAD_POLL_SECONDS', 30);
  if (certPollMs === 0) throw new Error('TLS_RELOAD_POLL_SECONDS must be above 0');
  const certDir = env['TLS_CERT_DIR'];
  return {
    port,
    certDir: certDir === undefined || certDir === '' ? DEFAULT_CERT_DIR : certDir,
    ...shutdownSettings(env),
    certPollMs,
    ...clientAuthSettings(env),
  };
}
