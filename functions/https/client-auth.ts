/**
 * Who may call: the verdict on a TLS connection's client certificate when CLIENT_CA_FILE is set.
 *
 * The server asks every client for a certificate (`requestCert`) but completes every handshake
 * (`rejectUnauthorized: false`); the verdict is taken here, per connection, and a refused caller's
 * request is answered 401/403 with the reason (docs/tls.md says why: a refusal inside the handshake
 * reaches the apiserver as a cut connection, like an outage, for anything but a missing certificate,
 * and tells us no reason to count).
 */
import type {TLSSocket} from 'node:tls';
import type {ErrorCode} from '../http/errors';

/** What a connection's client certificate looks like once the handshake is done. */
export interface PeerIdentity {
  /** Whether the client sent a certificate at all. */
  readonly presented: boolean;
  /** OpenSSL's verification error (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `CERT_HAS_EXPIRED`, ...); undefined: verified. */
  readonly verifyError: string | undefined;
  readonly commonNames: readonly string[];
  readonly dnsNames: readonly string[];
}

export type ClientVerdict =
  | {readonly ok: true; readonly name: string}
  | {readonly ok: false; readonly code: ClientRefusalCode; readonly message: string; readonly peer: string};

/** The refusal codes: the JSON error's code and the `nsm_injector_refusals_total` label (http/errors.ts). */
export const CLIENT_REFUSAL_CODES = ['no-client-certificate', 'unknown-client-ca', 'invalid-client-certificate', 'client-name-not-allowed'] as const satisfies readonly ErrorCode[];
export type ClientRefusalCode = (typeof CLIENT_REFUSAL_CODES)[number];

/**
 * OpenSSL's ways of saying "no trusted CA signed this": nothing in CLIENT_CA_FILE is its issuer.
 * Every other verification error (expired, not yet valid, not for client auth, bad signature) is a
 * certificate from a CA we may well trust that is not good now: `invalid-client-certificate`.
 */
const UNKNOWN_CA_ERRORS: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** The longest description of a caller's names we log or answer: the caller chose them. */
const MAX_PEER_TEXT = 200;

function describePeer(peer: PeerIdentity): string {
  const text = [...peer.commonNames.map(n => `CN=${n}`), ...peer.dnsNames.map(n => `DNS:${n}`)].join(', ') || 'no names';
  return text.length <= MAX_PEER_TEXT ? text : `${text.slice(0, MAX_PEER_TEXT - 3)}...`;
}

/**
 * The verdict. `allowed`: CLIENT_ALLOWED_NAMES as `allowedNameSet` makes it (subject CNs and SAN DNS
 * names, compared without case, as host names are); undefined: any certificate the CAs verify may call.
 */
export function clientVerdict(peer: PeerIdentity, allowed: ReadonlySet<string> | undefined): ClientVerdict {
  const names = describePeer(peer);
  if (!peer.presented) {
    return {ok: false, code: 'no-client-certificate', peer: names, message: 'a client certificate is required: this webhook answers only callers presenting a certificate signed by its client CA (CLIENT_CA_FILE)'};
  }
  if (peer.verifyError !== undefined) {
    const unknown = UNKNOWN_CA_ERRORS.has(peer.verifyError);
    return {
      ok: false,
      code: unknown ? 'unknown-client-ca' : 'invalid-client-certificate',
      peer: names,
      message: unknown
        ? `the client certificate (${names}) is not signed by a CA this webhook trusts (${peer.verifyError})`
        : `the client certificate (${names}) failed verification: ${peer.verifyError}`,
    };
  }
  if (allowed === undefined) return {ok: true, name: peer.commonNames[0] ?? peer.dnsNames[0] ?? ''};
  const name = [...peer.commonNames, ...peer.dnsNames].find(n => allowed.has(n.toLowerCase()));
  if (name === undefined) {
    return {ok: false, code: 'client-name-not-allowed', peer: names, message: `the client certificate (${names}) is valid, but none of its names is allowed to call (CLIENT_ALLOWED_NAMES)`};
  }
  return {ok: true, name};
}

/** `allowed` for `clientVerdict`, lower-cased once. */
export function allowedNameSet(names: readonly string[] | undefined): ReadonlySet<string> | undefined {
  return names === undefined ? undefined : new Set(names.map(n => n.toLowerCase()));
}

/** The SAN string node gives (`DNS:a, DNS:b, IP Address:10.0.0.1`): its DNS names. */
function dnsNamesOf(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '')
    .split(', ')
    .filter(entry => entry.startsWith('DNS:'))
    .map(entry => entry.slice('DNS:'.length));
}

/** Reads a server-side TLS socket after its handshake. */
export function peerIdentity(socket: TLSSocket): PeerIdentity {
  const certificate = socket.getPeerCertificate();
  // No certificate: node returns an empty object (or null once the socket is gone).
  const presented = certificate !== null && Object.keys(certificate).length > 0;
  const cn: unknown = presented ? (certificate.subject as Record<string, unknown> | undefined)?.['CN'] : undefined;
  // Typed as an Error, but node sets OpenSSL's code as a string (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`).
  const error = socket.authorizationError as unknown;
  return {
    presented,
    verifyError: socket.authorized ? undefined : typeof error === 'string' ? error : 'UNVERIFIED',
    commonNames: typeof cn === 'string' ? [cn] : Array.isArray(cn) ? cn.filter((n): n is string => typeof n === 'string') : [],
    dnsNames: presented ? dnsNamesOf(certificate.subjectaltname) : [],
  };
}
