/** Throwaway CAs and certificates made with the openssl CLI, for tests that need real TLS. */
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export interface TestCerts {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TestCa {
  readonly caPem: string;
  /** A new serving certificate for `localhost` and 127.0.0.1, signed by this CA. */
  issue(): {certPem: string; keyPem: string};
  remove(): void;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A CA that can issue several serving certificates (a renewal keeps the CA). EC P-256: fast to make. */
export function makeTestCa(commonName = 'test-ca'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-ca-'));
  const run = (...args: string[]): void => void execFileSync('openssl', args, {cwd: dir, stdio: 'pipe'});
  run('req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', `/CN=${commonName}`);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  let serial = 0;
  return {
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    issue() {
      const n = serial++;
      run('req', ...EC, '-keyout', `tls${n}.key`, '-out', `tls${n}.csr`, '-subj', '/CN=localhost');
      run('x509', '-req', '-in', `tls${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(1000 + n), '-out', `tls${n}.crt`, '-days', '1', '-extfile', 'ext.cnf');
      return {certPem: readFileSync(join(dir, `tls${n}.crt`), 'utf8'), keyPem: readFileSync(join(dir, `tls${n}.key`), 'utf8')};
    },
    remove: () => rmSync(dir, {recursive: true, force: true}),
  };
}

/** A CA, and one serving certificate it signed. */
export function makeTestCerts(commonName = 'test-ca'): TestCerts {
  const ca = makeTestCa(commonName);
  try {
    return {caPem: ca.caPem, ...ca.issue()};
  } finally {
    ca.remove();
  }
}
