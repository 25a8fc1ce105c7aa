/**
 * Certificates made by the test with the `openssl` CLI: a CA, a server certificate for 127.0.0.1/localhost,
 * client certificates signed by that CA, and a second CA nobody trusts (with its own client certificate).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export interface TestPki {
  dir: string;
  caFile: string;
  ca: Buffer;
  server: Pem;
  /** Client certificate with this CN, signed by the CA. */
  client(cn: string): Pem;
  /** Client certificate with this CN, signed by a CA the server does not trust. */
  rogueClient(cn: string): Pem;
  dispose(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], dir);
  return { key, cert };
}

function sign(dir: string, ca: { key: string; cert: string }, name: string, cn: string, ext: string): Pem {
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', extFile], dir);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sg-pki-'));
  const ca = makeCa(dir, 'test-ca');
  const rogue = makeCa(dir, 'rogue-ca');
  const server = sign(dir, ca, 'server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const clients = new Map<string, Pem>();
  return {
    dir,
    caFile: ca.cert,
    ca: readFileSync(ca.cert),
    server,
    client(cn) {
      let p = clients.get(cn);
      if (p === undefined) {
        p = sign(dir, ca, `client-${cn}`, cn, 'extendedKeyUsage=clientAuth\n');
        clients.set(cn, p);
      }
      return p;
    },
    rogueClient(cn) {
      return sign(dir, rogue, `rogue-${cn}`, cn, 'extendedKeyUsage=clientAuth\n');
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
