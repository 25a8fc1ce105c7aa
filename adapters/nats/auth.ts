/**
 * Connection options from the configuration: servers, reconnect and ping policy, credentials and TLS.
 * Credential and certificate files are read here, once, so a missing or unreadable file is reported at start
 * with the key to fix (SG_ERR_NATS_AUTH) rather than as a vague connect failure later.
 */
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type TlsOptions } from '@nats-io/transport-node';
import { GatewayError } from '../../gateway/errors.js';

/** The nats.* keys the connection needs (a subset of Config['nats']). */
export interface NatsConnectConfig {
  servers: readonly string[];
  pingIntervalMs: number;
  maxPingOut: number;
  connectTimeoutMs: number;
  retryDelayMs: number;
  user: string;
  password: string;
  token: string;
  nkeySeedFile: string;
  credsFile: string;
  tls: { caFile: string; certFile: string; keyFile: string };
}

function readKeyFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new GatewayError('SG_ERR_NATS_AUTH', `cannot read ${key} ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: `set ${key} (or SCANGATE_${key.replace(/\./g, '_').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}) to a readable file`,
    });
  }
}

/** How the gateway authenticates, for logs (never the secret itself). */
export function authMethod(c: NatsConnectConfig): 'none' | 'user' | 'token' | 'nkey' | 'creds' {
  if (c.user !== '') return 'user';
  if (c.token !== '') return 'token';
  if (c.nkeySeedFile !== '') return 'nkey';
  if (c.credsFile !== '') return 'creds';
  return 'none';
}

/**
 * nats.js options for a connection that never gives up: maxReconnectAttempts -1 (DESIGN.md), and a dead
 * link noticed after maxPingOut unanswered pings, i.e. within pingIntervalMs * (maxPingOut + 1).
 */
export function connectionOptions(c: NatsConnectConfig, name: string): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: [...c.servers],
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: c.retryDelayMs,
    reconnectJitter: Math.min(100, c.retryDelayMs),
    pingInterval: c.pingIntervalMs,
    maxPingOut: c.maxPingOut,
    timeout: c.connectTimeoutMs,
  };
  switch (authMethod(c)) {
    case 'user':
      opts.user = c.user;
      opts.pass = c.password;
      break;
    case 'token':
      opts.token = c.token;
      break;
    case 'nkey': {
      const seed = readKeyFile(c.nkeySeedFile, 'nats.nkeySeedFile').trim();
      if (!/^SU[A-Z2-7]+$/.test(seed)) {
        throw new GatewayError('SG_ERR_NATS_AUTH', `${c.nkeySeedFile} does not hold a user nkey seed (SU...)`, { hint: 'generate one with `nk -gen user` and point nats.nkeySeedFile at it' });
      }
      opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
      break;
    }
    case 'creds': {
      const creds = readKeyFile(c.credsFile, 'nats.credsFile');
      if (!creds.includes('-----BEGIN NATS USER JWT-----') || !creds.includes('-----BEGIN USER NKEY SEED-----')) {
        throw new GatewayError('SG_ERR_NATS_AUTH', `${c.credsFile} is not a NATS credentials file (user JWT and seed)`, { hint: 'use the .creds file nsc generates for the gateway user' });
      }
      opts.authenticator = credsAuthenticator(new TextEncoder().encode(creds));
      break;
    }
    default:
      break;
  }
  const { caFile, certFile, keyFile } = c.tls;
  if (caFile !== '' || certFile !== '' || c.servers.some((s) => s.startsWith('tls://'))) {
    const tls: TlsOptions = {};
    if (caFile !== '') tls.ca = readKeyFile(caFile, 'nats.tls.caFile');
    if (certFile !== '') tls.cert = readKeyFile(certFile, 'nats.tls.certFile');
    if (keyFile !== '') tls.key = readKeyFile(keyFile, 'nats.tls.keyFile');
    opts.tls = tls;
  }
  return opts;
}
