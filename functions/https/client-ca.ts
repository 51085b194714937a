/**
 * The CA bundle client certificates are verified against (CLIENT_CA_FILE): a PEM file, usually the
 * `ca.crt` key of a cert-manager Secret mounted as a volume, kept current without a restart like
 * the serving certificate (reloadable.ts). A new bundle is used only if every block in it is a CA
 * certificate and at least one of them is valid now; otherwise the bundle in use stays.
 */
import {X509Certificate} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {dirname} from 'node:path';
import {createSecureContext} from 'node:tls';
import type {Logger} from '../ops/log';
import {Reloadable, type ReadResult} from './reloadable';

export interface ClientCaBundle {
  readonly pem: string;
  /** The CAs' subjects (one line each), for logs. */
  readonly subjects: readonly string[];
  /** SHA-256 fingerprints, in file order. */
  readonly fingerprints: readonly string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const oneLine = (subject: string): string => subject.split('\n').join(', ');

/** Checks a PEM bundle's text; `file` only names it in errors. */
export function checkClientCa(text: string, file: string, now: Date = new Date()): ReadResult<ClientCaBundle> {
  // A key in the trust bundle means the wrong Secret key (or the whole CA Secret) was mounted.
  if (text.includes('PRIVATE KEY-----')) return {ok: false, error: `${file} holds a private key; it must hold only CA certificates (a Secret's ca.crt)`};
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return {ok: false, error: `${file} holds no PEM certificate`};
  const certificates: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch (error) {
      return {ok: false, error: `${file}: certificate ${i + 1} does not parse: ${(error as Error).message}`};
    }
  }
  const leaf = certificates.find(c => !c.ca);
  if (leaf !== undefined) {
    return {ok: false, error: `${file}: "${oneLine(leaf.subject)}" is not a CA certificate; the file holds the CA that signs callers' certificates (a Secret's ca.crt), not a caller's certificate`};
  }
  const valid = (c: X509Certificate): boolean => new Date(c.validFrom) <= now && now < new Date(c.validTo);
  if (!certificates.some(valid)) return {ok: false, error: `${file}: no CA certificate in it is valid now (expired or not yet valid)`};
  const pem = `${blocks.join('\n')}\n`;
  try {
    // What the server will do with it; catches anything OpenSSL refuses that the checks above don't.
    createSecureContext({ca: pem});
  } catch (error) {
    return {ok: false, error: `${file}: ${(error as Error).message}`};
  }
  return {ok: true, value: {pem, subjects: certificates.map(c => oneLine(c.subject)), fingerprints: certificates.map(c => c.fingerprint256)}};
}

export function readClientCa(file: string): ReadResult<ClientCaBundle> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return {ok: false, error: `cannot read ${file}: ${(error as Error).message}`};
  }
  return checkClientCa(text, file);
}

export interface ClientCaFileOptions {
  readonly file: string;
  readonly logger: Logger;
  /** Called with each new valid bundle (not with the first one `load` returns). */
  readonly onChange: (bundle: ClientCaBundle) => void;
  readonly pollMs?: number;
}

/**
 * CLIENT_CA_FILE, followed through its folder: the kubelet swaps a Secret volume by renaming the
 * folder's `..data` symlink, which fires events on the folder, not on the file.
 */
export function clientCaFile(options: ClientCaFileOptions): Reloadable<ClientCaBundle> {
  const {file, ...rest} = options;
  return new Reloadable<ClientCaBundle>({
    ...rest,
    dir: dirname(file),
    what: 'client CA bundle',
    read: () => readClientCa(file),
    same: (a, b) => a.pem === b.pem,
    describe: bundle => ({file, subjects: bundle.subjects, fingerprints: bundle.fingerprints}),
    fingerprint: bundle => bundle.fingerprints.join(','),
  });
}
