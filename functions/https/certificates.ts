/**
 * The serving certificate, from a folder holding `tls.crt` and `tls.key` (a cert-manager Secret
 * mounted as a volume), kept current without a restart (reloadable.ts says how). A new pair is
 * handed to the server only if both parse, the key is the certificate's and it has not expired.
 */
import {createPrivateKey, X509Certificate} from 'node:crypto';
import {existsSync, readFileSync, realpathSync} from 'node:fs';
import {join} from 'node:path';
import {createSecureContext, type SecureContextOptions} from 'node:tls';
import type {Logger} from '../ops/log';
import {Reloadable, type ReadResult} from './reloadable';

export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';

/** The apiserver speaks TLS 1.2 and 1.3; nothing older is offered or accepted. */
export const MIN_TLS_VERSION = 'TLSv1.2';

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint: string;
  readonly notAfter: Date;
  readonly subjectAltName: string;
}

export type PairResult = ReadResult<KeyPair>;

/**
 * Everything a secure context is built from. Always the full set: `setSecureContext` replaces the
 * whole context, so a reload that passed only cert and key would silently drop the TLS floor (or
 * the client CAs). `clientCa`: the CA certificates client certificates are verified against.
 */
export function secureContextOptions(pair: KeyPair, clientCa?: string): SecureContextOptions {
  return {cert: pair.cert, key: pair.key, minVersion: MIN_TLS_VERSION, ...(clientCa === undefined ? {} : {ca: clientCa})};
}

/**
 * The folder's current files. Read through `..data` resolved once, when present, so that cert and
 * key come from the same generation even if the kubelet swaps the volume between the two reads.
 */
function readFiles(dir: string): {cert: string; key: string} {
  const data = join(dir, '..data');
  const base = existsSync(data) ? realpathSync(data) : dir;
  return {cert: readFileSync(join(base, CERT_FILE), 'utf8'), key: readFileSync(join(base, KEY_FILE), 'utf8')};
}

/** Reads and checks a pair: both parse, the key belongs to the (first) certificate, it has not expired. */
export function readPair(dir: string, now: Date = new Date()): PairResult {
  let files: {cert: string; key: string};
  try {
    files = readFiles(dir);
  } catch (error) {
    return {ok: false, error: `cannot read ${CERT_FILE} and ${KEY_FILE} in ${dir}: ${(error as Error).message}`};
  }
  return checkPair(files.cert, files.key, now);
}

export function checkPair(cert: string, key: string, now: Date = new Date()): PairResult {
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return {ok: false, error: `${KEY_FILE} is not the key of the certificate in ${CERT_FILE}`};
    const notAfter = new Date(x509.validTo);
    if (notAfter.getTime() <= now.getTime()) return {ok: false, error: `the certificate expired at ${notAfter.toISOString()}`};
    const pair: KeyPair = {cert, key, fingerprint: x509.fingerprint256, notAfter, subjectAltName: x509.subjectAltName ?? ''};
    // What the server will do with it; catches anything OpenSSL refuses that the checks above don't.
    createSecureContext(secureContextOptions(pair));
    return {ok: true, value: pair};
  } catch (error) {
    return {ok: false, error: `invalid certificate or key: ${(error as Error).message}`};
  }
}

export interface CertificateFolderOptions {
  readonly dir: string;
  readonly logger: Logger;
  /** Called with each new valid pair (not with the first one `load` returns). */
  readonly onChange: (pair: KeyPair) => void;
  readonly pollMs?: number;
}

/** The serving certificate's folder: `load()` once, then `watch()`. */
export function certificateFolder(options: CertificateFolderOptions): Reloadable<KeyPair> {
  return new Reloadable<KeyPair>({
    ...options,
    what: 'TLS certificate',
    read: () => readPair(options.dir),
    same: (a, b) => a.cert === b.cert && a.key === b.key,
    describe: pair => ({fingerprint: pair.fingerprint, notAfter: pair.notAfter.toISOString(), subjectAltName: pair.subjectAltName}),
    fingerprint: pair => pair.fingerprint,
  });
}
