/**
 * The serving certificate, from a folder holding `tls.crt` and `tls.key` (a cert-manager Secret
 * mounted as a volume), kept current without a restart.
 *
 * cert-manager renews the certificate long before it expires and rewrites the Secret; the kubelet
 * then updates the volume the way it updates every Secret/ConfigMap volume: it writes the new files
 * to a fresh timestamped folder and atomically renames the `..data` symlink onto it. We watch the
 * folder, re-read on any change (and on a slow timer, in case an event is missed), and hand a new
 * pair to the server only if it is valid. A bad new pair (unparsable, key not matching, expired) is
 * logged and the pair in use stays: an HTTPS endpoint with a stale certificate still works until it
 * expires, one with no certificate does not.
 */
import {createPrivateKey, X509Certificate} from 'node:crypto';
import {existsSync, readFileSync, realpathSync} from 'node:fs';
import {join} from 'node:path';
import {createSecureContext, type SecureContextOptions} from 'node:tls';
import {watchFolder, type FolderWatch} from '../ops/folder-watch';
import type {Logger} from '../ops/log';

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

export type PairResult = {readonly ok: true; readonly pair: KeyPair} | {readonly ok: false; readonly error: string};

/**
 * Everything a secure context is built from. Always the full set: `setSecureContext` replaces the
 * whole context, so a reload that passed only cert and key would silently drop the TLS floor.
 */
export function secureContextOptions(pair: KeyPair): SecureContextOptions {
  return {cert: pair.cert, key: pair.key, minVersion: MIN_TLS_VERSION};
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
    return {ok: true, pair};
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

export class CertificateFolder {
  private current: KeyPair | undefined;
  private lastRejected: string | undefined;
  private watcher: FolderWatch | undefined;

  constructor(private readonly options: CertificateFolderOptions) {}

  get pair(): KeyPair | undefined {
    return this.current;
  }

  /** Reads the folder; a valid pair different from the one in use becomes current. Never throws. */
  load(): PairResult {
    const {dir, logger} = this.options;
    const result = readPair(dir);
    if (!result.ok) {
      // The timer re-reads every few seconds: say it once per distinct problem, not every time.
      if (result.error !== this.lastRejected) {
        this.lastRejected = result.error;
        logger.log('error', this.current ? 'TLS certificate rejected; the previous one stays in use' : 'no valid TLS certificate', {
          dir,
          error: result.error,
          activeFingerprint: this.current?.fingerprint,
        });
      }
      return result;
    }
    this.lastRejected = undefined;
    const previous = this.current;
    if (previous !== undefined && previous.cert === result.pair.cert && previous.key === result.pair.key) return result;
    this.current = result.pair;
    logger.log('info', previous ? 'TLS certificate reloaded' : 'TLS certificate loaded', {
      dir,
      fingerprint: result.pair.fingerprint,
      notAfter: result.pair.notAfter.toISOString(),
      subjectAltName: result.pair.subjectAltName,
    });
    if (previous !== undefined) this.options.onChange(result.pair);
    return result;
  }

  /** Follows the folder (see ops/folder-watch.ts): a new valid pair goes to `onChange`. */
  watch(): void {
    this.watcher ??= watchFolder({
      dir: this.options.dir,
      reload: () => void this.load(),
      pollMs: this.options.pollMs ?? 30_000,
      debounceMs: 100,
      what: 'TLS',
      logger: this.options.logger,
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
