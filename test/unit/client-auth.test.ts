/**
 * Client certificates, in pieces: the verdict on a connection's certificate, the checks a client CA
 * bundle must pass, the settings, and the once-per-burst log. The whole, with real TLS, is in
 * test/https.test.ts and, against a real kube-apiserver, test/e2e/mtls.e2e.test.ts.
 */
import {allowedNameSet, clientVerdict, type PeerIdentity} from '../../functions/https/client-auth';
import {checkClientCa} from '../../functions/https/client-ca';
import {readSettings} from '../../functions/https/settings';
import {BurstLog} from '../../functions/ops/burst-log';
import type {LogFields, LogLevel} from '../../functions/ops/log';
import {TestPki} from '../support/tls';

const peer = (overrides: Partial<PeerIdentity> = {}): PeerIdentity => ({presented: true, verifyError: undefined, commonNames: ['kube-apiserver-admission'], dnsNames: [], ...overrides});
const allowed = allowedNameSet(['kube-apiserver-admission', 'Webhook-Client.Example.COM']);

describe('clientVerdict', () => {
  it('accepts a verified certificate whose CN or SAN DNS name is allowed (names compared without case)', () => {
    expect(clientVerdict(peer(), allowed)).toEqual({ok: true, name: 'kube-apiserver-admission'});
    expect(clientVerdict(peer({commonNames: ['x'], dnsNames: ['webhook-client.example.com']}), allowed)).toEqual({ok: true, name: 'webhook-client.example.com'});
    expect(clientVerdict(peer({commonNames: ['KUBE-APISERVER-ADMISSION']}), allowed)).toMatchObject({ok: true});
  });

  it('accepts any verified certificate when no names are configured', () => {
    expect(clientVerdict(peer({commonNames: ['anyone']}), undefined)).toEqual({ok: true, name: 'anyone'});
  });

  const refusals: Array<[string, Partial<PeerIdentity>, string]> = [
    ['no certificate (whatever OpenSSL says about it)', {presented: false, verifyError: 'UNABLE_TO_GET_ISSUER_CERT', commonNames: []}, 'no-client-certificate'],
    ['a certificate no trusted CA signed', {verifyError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'}, 'unknown-client-ca'],
    ['a self-signed certificate', {verifyError: 'DEPTH_ZERO_SELF_SIGNED_CERT'}, 'unknown-client-ca'],
    ['an expired certificate', {verifyError: 'CERT_HAS_EXPIRED'}, 'invalid-client-certificate'],
    ['a certificate not for client auth', {verifyError: 'INVALID_PURPOSE'}, 'invalid-client-certificate'],
    ['a verified certificate with no allowed name', {commonNames: ['kube-apiserver'], dnsNames: ['evil.example.com']}, 'client-name-not-allowed'],
    ['a name that only contains an allowed one', {commonNames: ['kube-apiserver-admission-2']}, 'client-name-not-allowed'],
  ];
  it.each(refusals)('refuses %s', (_what, overrides, code) => {
    const verdict = clientVerdict(peer(overrides), allowed);
    expect(verdict).toMatchObject({ok: false, code});
    // The message names the certificate (not the allowed names: callers don't learn those).
    if (!verdict.ok && overrides.presented !== false) expect(verdict.message).toContain('CN=');
    if (!verdict.ok) expect(verdict.message).not.toMatch(/Webhook-Client/i);
  });

  it('keeps what an attacker-chosen certificate puts in the log short', () => {
    const verdict = clientVerdict(peer({commonNames: ['x'.repeat(64)], dnsNames: Array.from({length: 500}, (_, i) => `n${i}.example.com`)}), allowed);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.peer.length).toBeLessThanOrEqual(200);
  });
});

describe('checkClientCa', () => {
  const pki = new TestPki();
  afterAll(() => pki.remove());
  const one = pki.ca('client CA one');
  const two = pki.ca('client CA two');

  it('accepts one CA, or several (a rotation), and names them', () => {
    const result = checkClientCa(`${one.cert}${two.cert}`, 'ca.crt');
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.subjects).toEqual(['CN=client CA one', 'CN=client CA two']);
  });

  const bad: Array<[string, () => string, RegExp]> = [
    ['an empty file', () => '', /holds no PEM certificate/],
    ['a private key (the wrong Secret key mounted)', () => `${one.cert}${one.key}`, /holds a private key/],
    ['a client certificate instead of its CA', () => pki.client(one, 'kube-apiserver-admission').cert, /"CN=kube-apiserver-admission" is not a CA certificate/],
    ['a block that does not parse', () => '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n', /certificate 1 does not parse/],
  ];
  it.each(bad)('refuses %s, saying why', (_what, text, error) => {
    expect(checkClientCa(text(), 'ca.crt')).toEqual({ok: false, error: expect.stringMatching(error)});
  });

  it('refuses a bundle none of whose CAs is valid at the time', () => {
    const later = new Date(Date.now() + 30 * 24 * 3600 * 1000); // the test CAs live 2 days
    expect(checkClientCa(one.cert, 'ca.crt', later)).toEqual({ok: false, error: expect.stringMatching(/no CA certificate in it is valid now/)});
  });
});

describe('client certificate settings', () => {
  it('are off unless CLIENT_CA_FILE is set; CLIENT_ALLOWED_NAMES is a comma-separated list', () => {
    expect(readSettings({}).clientCaFile).toBeUndefined();
    expect(readSettings({CLIENT_CA_FILE: '/ca.crt'})).toMatchObject({clientCaFile: '/ca.crt'});
    expect(readSettings({CLIENT_CA_FILE: '/ca.crt'}).clientAllowedNames).toBeUndefined();
    expect(readSettings({CLIENT_CA_FILE: '/ca.crt', CLIENT_ALLOWED_NAMES: ' a , b.example.com '}).clientAllowedNames).toEqual(['a', 'b.example.com']);
  });

  it('refuse names without a CA (they would check nothing) and malformed lists', () => {
    expect(() => readSettings({CLIENT_ALLOWED_NAMES: 'kube-apiserver-admission'})).toThrow(/CLIENT_ALLOWED_NAMES needs CLIENT_CA_FILE/);
    expect(() => readSettings({CLIENT_CA_FILE: '/ca.crt', CLIENT_ALLOWED_NAMES: 'a,,b'})).toThrow(/CLIENT_ALLOWED_NAMES must be names separated by commas/);
    expect(() => readSettings({CLIENT_CA_FILE: '/ca.crt', CLIENT_ALLOWED_NAMES: 'a b'})).toThrow(/CLIENT_ALLOWED_NAMES/);
  });
});

describe('BurstLog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('logs the first occurrence of a burst with its details, then the totals by kind (zeros included) when the window closes', () => {
    const lines: Array<{level: LogLevel; message: string; fields: LogFields | undefined}> = [];
    const log = new BurstLog({
      logger: {log: (level, message, fields) => lines.push({level, message, fields})},
      level: 'warn',
      kinds: ['a', 'b', 'c'] as const,
      started: 'started',
      ended: 'ended',
      windowMs: 1000,
      context: {where: 'here'},
    });
    for (let i = 0; i < 1000; i++) log.note(i % 2 === 0 ? 'a' : 'b', {i});
    expect(lines).toEqual([{level: 'warn', message: 'started', fields: {where: 'here', i: 0}}]);
    jest.advanceTimersByTime(1000);
    expect(lines[1]).toEqual({level: 'warn', message: 'ended', fields: {where: 'here', a: 500, b: 500, c: 0}});
    log.note('c', {i: 'next'});
    log.end();
    expect(lines.slice(2).map(l => [l.message, l.fields])).toEqual([
      ['started', {where: 'here', i: 'next'}],
      ['ended', {where: 'here', a: 0, b: 0, c: 1}],
    ]);
    log.end(); // nothing open: nothing logged
    expect(lines).toHaveLength(4);
  });
});
