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

/** The user nkey seed (SU...) in nats.nkeySeedFile. */
function nkeySeed(path: string): string {
  const seed = readKeyFile(path, 'nats.nkeySeedFile').trim();
  if (!/^SU[A-Z2-7]+$/.test(seed)) {
    throw new GatewayError('SG_ERR_NATS_AUTH', `nats.nkeySeedFile ${path} does not hold a user nkey seed (SU...)`, { hint: 'generate one with `nk -gen user` and point nats.nkeySeedFile at it' });
  }
  return seed;
}

/** The text of nats.credsFile, a NATS credentials file (user JWT and seed). */
function credsText(path: string): string {
  const creds = readKeyFile(path, 'nats.credsFile');
  if (!creds.includes('-----BEGIN NATS USER JWT-----') || !creds.includes('-----BEGIN USER NKEY SEED-----')) {
    throw new GatewayError('SG_ERR_NATS_AUTH', `nats.credsFile ${path} is not a NATS credentials file (user JWT and seed)`, { hint: 'use the .creds file nsc generates for the gateway user' });
  }
  return creds;
}

/** TLS is required when a CA or client certificate is named, or a server URL is tls://. */
function usesTls(c: NatsConnectConfig): boolean {
  return c.tls.caFile !== '' || c.tls.certFile !== '' || c.servers.some((s) => s.startsWith('tls://'));
}

/** The TLS files named: [option, path, key]. */
function tlsFiles(c: NatsConnectConfig): ['ca' | 'cert' | 'key', string, string][] {
  const all: ['ca' | 'cert' | 'key', string, string][] = [
    ['ca', c.tls.caFile, 'nats.tls.caFile'],
    ['cert', c.tls.certFile, 'nats.tls.certFile'],
    ['key', c.tls.keyFile, 'nats.tls.keyFile'],
  ];
  return all.filter(([, path]) => path !== '');
}

/**
 * Every SG_ERR_NATS_AUTH connectionOptions would stop the start with, rather than the first: the credential file
 * of the configured method and each TLS file (for `scangate config check`).
 */
export function natsFileProblems(c: NatsConnectConfig): GatewayError[] {
  const checks: (() => unknown)[] = [];
  const method = authMethod(c);
  if (method === 'nkey') checks.push(() => nkeySeed(c.nkeySeedFile));
  if (method === 'creds') checks.push(() => credsText(c.credsFile));
  if (usesTls(c)) for (const [, path, key] of tlsFiles(c)) checks.push(() => readKeyFile(path, key));
  const problems: GatewayError[] = [];
  for (const check of checks) {
    try {
      check();
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      problems.push(err);
    }
  }
  return problems;
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
    case 'nkey':
      opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(nkeySeed(c.nkeySeedFile)));
      break;
    case 'creds':
      opts.authenticator = credsAuthenticator(new TextEncoder().encode(credsText(c.credsFile)));
      break;
    default:
      break;
  }
  if (usesTls(c)) {
    const tls: TlsOptions = {};
    for (const [part, path, key] of tlsFiles(c)) tls[part] = readKeyFile(path, key);
    opts.tls = tls;
  }
  return opts;
}
