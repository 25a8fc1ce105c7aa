/** TLS material of the MQTT listeners and of the external-broker client, read once at start. */
import { readFileSync } from 'node:fs';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { GatewayError } from '../../gateway/errors.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

function read(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new GatewayError('SG_ERR_TLS', `cannot read ${key} ${file}: ${(err as Error).message}`, {
      cause: err,
      hint: `set ${key} to a readable PEM file`,
    });
  }
}

/** Read the PEM files named (empty names are skipped) and check that certificate and key belong together. */
export function loadTls(files: TlsFiles, keyPrefix: string): TlsMaterial {
  const out: TlsMaterial = {};
  if (files.certFile !== '') out.cert = read(files.certFile, `${keyPrefix}.certFile`);
  if (files.keyFile !== '') out.key = read(files.keyFile, `${keyPrefix}.keyFile`);
  if (files.caFile !== '') out.ca = read(files.caFile, `${keyPrefix}.caFile`);
  try {
    createSecureContext(out);
  } catch (err) {
    throw new GatewayError('SG_ERR_TLS', `the TLS files of ${keyPrefix} are not usable: ${(err as Error).message}`, {
      cause: err,
      hint: `check that ${keyPrefix}.certFile and ${keyPrefix}.keyFile are PEM and belong together, and that ${keyPrefix}.caFile is a PEM CA certificate`,
    });
  }
  return out;
}

/** The CN of a client certificate the TLS layer verified, or undefined. */
export function verifiedCommonName(socket: unknown): string | undefined {
  const s = socket as Partial<TLSSocket> | undefined;
  if (s === undefined || typeof s.getPeerCertificate !== 'function' || s.authorized !== true) return undefined;
  const cn = s.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' && cn.length > 0 ? cn : undefined;
}
