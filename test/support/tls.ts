/**
 * Real certificates for TLS tests, made with the `openssl` CLI (node:crypto can't issue X.509
 * certificates). P-256 keys keep each one to a few milliseconds. (Secret volumes: KubeletVolume in
 * kubelet-volume.ts.)
 */
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export interface Pem {
  readonly cert: string;
  readonly key: string;
}

/** The names the apiserver verifies for the webhook's Service (manifests/base/certificates.yaml). */
export const SERVICE_DNS = 'nsm-sidecar-injector.nsm-sidecar-injector.svc';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']});
}

/** Issues certificates in a scratch folder; `remove()` deletes it. */
export class TestPki {
  private readonly dir = mkdtempSync(join(tmpdir(), 'nsm-pki-'));
  private serial = 0;

  /** A self-signed CA (what cert-manager's CA Certificate is). */
  ca(name: string): Pem {
    const n = this.serial++;
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-days', '2',
        '-keyout', `ca${n}.key`, '-out', `ca${n}.crt`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      this.dir,
    );
    return {cert: readFileSync(join(this.dir, `ca${n}.crt`), 'utf8'), key: readFileSync(join(this.dir, `ca${n}.key`), 'utf8')};
  }

  /** A serving certificate for `dnsNames`, signed by `ca` (what the serving Certificate is). */
  leaf(ca: Pem, dnsNames: readonly string[] = [SERVICE_DNS]): Pem {
    return this.issue(ca, dnsNames[0] ?? 'leaf', `extendedKeyUsage=serverAuth\nsubjectAltName=${dnsNames.map(d => `DNS:${d}`).join(',')}\n`);
  }

  /**
   * A client certificate (extendedKeyUsage clientAuth) for `commonName`, with SAN `dnsNames` if any,
   * signed by `ca` (what the apiserver's client Certificate is).
   */
  client(ca: Pem, commonName: string, dnsNames: readonly string[] = []): Pem {
    const sans = dnsNames.length === 0 ? '' : `subjectAltName=${dnsNames.map(d => `DNS:${d}`).join(',')}\n`;
    return this.issue(ca, commonName, `extendedKeyUsage=clientAuth\n${sans}`);
  }

  private issue(ca: Pem, commonName: string, extensions: string): Pem {
    const n = this.serial++;
    writeFileSync(join(this.dir, `ca${n}.crt`), ca.cert);
    writeFileSync(join(this.dir, `ca${n}.key`), ca.key);
    writeFileSync(join(this.dir, `leaf${n}.ext`), `basicConstraints=CA:FALSE\n${extensions}`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${commonName}`, '-keyout', `leaf${n}.key`, '-out', `leaf${n}.csr`], this.dir);
    openssl(['x509', '-req', '-in', `leaf${n}.csr`, '-CA', `ca${n}.crt`, '-CAkey', `ca${n}.key`, '-set_serial', String(1000 + n), '-days', '1', '-extfile', `leaf${n}.ext`, '-out', `leaf${n}.crt`], this.dir);
    return {cert: readFileSync(join(this.dir, `leaf${n}.crt`), 'utf8'), key: readFileSync(join(this.dir, `leaf${n}.key`), 'utf8')};
  }

  remove(): void {
    rmSync(this.dir, {recursive: true, force: true});
  }
}

export const tlsFiles = (pair: Pem, ca?: Pem): Record<string, string> => ({'tls.crt': pair.cert, 'tls.key': pair.key, ...(ca ? {'ca.crt': ca.cert} : {})});
