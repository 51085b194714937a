/** A throwaway CA and server certificate made with the openssl CLI, for tests that need real TLS. */
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export interface TestCerts {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A CA, and a serving certificate it signed for `localhost` and 127.0.0.1 (EC P-256: fast to make). */
export function makeTestCerts(commonName = 'test-ca'): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-ca-'));
  const run = (...args: string[]): void => void execFileSync('openssl', args, {cwd: dir, stdio: 'pipe'});
  try {
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', `/CN=${commonName}`);
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    run('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '1', '-extfile', 'ext.cnf');
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    return {caPem: read('ca.crt'), certPem: read('tls.crt'), keyPem: read('tls.key')};
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}
