/** TLS material of the MQTT listeners and of the external-broker client, read once at start. */
import { readFileSync } from 'node:fs';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { Config } from '../../gateway/config/index.js';
import { GatewayError } from '../../gateway/errors.js';

type MqttConfig = Config['mqtt'];

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
  const { material, problems } = readTls(files, keyPrefix);
  if (problems[0] !== undefined) throw problems[0];
  return material;
}

/** What loadTls would refuse, every problem rather than the first (for `scangate config check`). */
export function tlsProblems(files: TlsFiles, keyPrefix: string): GatewayError[] {
  return readTls(files, keyPrefix).problems;
}

/** Whether the embedded broker reads mqtt.tls.* at start: a TLS listener, or WebSocket over TLS. */
export function embeddedUsesTls(m: Pick<MqttConfig, 'tls' | 'websocket'>): boolean {
  return m.tls.enabled || (m.websocket.enabled && m.websocket.tls);
}

/** Whether the external-broker client reads mqtt.external.*File at start: it names a CA or a client certificate. */
export function externalUsesTls(x: MqttConfig['external']): boolean {
  return x.caFile !== '' || x.certFile !== '';
}

/** Every SG_ERR_TLS the MQTT adapter of mqtt.mode would stop the start with (for `scangate config check`). */
export function mqttTlsProblems(m: MqttConfig): GatewayError[] {
  if (m.mode === 'external') return externalUsesTls(m.external) ? tlsProblems(m.external, 'mqtt.external') : [];
  return embeddedUsesTls(m) ? tlsProblems(m.tls, 'mqtt.tls') : [];
}

function readTls(files: TlsFiles, keyPrefix: string): { material: TlsMaterial; problems: GatewayError[] } {
  const material: TlsMaterial = {};
  const problems: GatewayError[] = [];
  const take = (part: keyof TlsMaterial, file: string, key: string) => {
    if (file === '') return;
    try {
      material[part] = read(file, key);
    } catch (err) {
      problems.push(err as GatewayError);
    }
  };
  take('cert', files.certFile, `${keyPrefix}.certFile`);
  take('key', files.keyFile, `${keyPrefix}.keyFile`);
  take('ca', files.caFile, `${keyPrefix}.caFile`);
  if (problems.length > 0) return { material, problems }; // whether the files belong together needs all of them
  try {
    createSecureContext(material);
  } catch (err) {
    problems.push(
      new GatewayError('SG_ERR_TLS', `the TLS files of ${keyPrefix} are not usable: ${(err as Error).message}`, {
        cause: err,
        hint: `check that ${keyPrefix}.certFile and ${keyPrefix}.keyFile are PEM and belong together, and that ${keyPrefix}.caFile is a PEM CA certificate`,
      }),
    );
  }
  return { material, problems };
}

/** The CN of a client certificate the TLS layer verified, or undefined. */
export function verifiedCommonName(socket: unknown): string | undefined {
  const s = socket as Partial<TLSSocket> | undefined;
  if (s === undefined || typeof s.getPeerCertificate !== 'function' || s.authorized !== true) return undefined;
  const cn = s.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' && cn.length > 0 ? cn : undefined;
}
