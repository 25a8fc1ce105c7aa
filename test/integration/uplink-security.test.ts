/**
 * NATS security: the uplink forwards through a real nats-server that requires user/password, a token, an
 * nkey, a credentials file (operator mode: operator, account and user JWTs made here), or TLS with a CA and a
 * client certificate (made here with openssl). Wrong credentials are reported as SG_ERR_NATS_AUTH and the
 * events wait in the outbox.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, nkeys, type ConnectionOptions } from '@nats-io/transport-node';
import { Uplink } from '../../adapters/nats/uplink.js';
import { Cache } from '../../gateway/cache/cache.js';
import type { ConfigInput } from '../../gateway/config/index.js';
import { KIND_SCAN } from '../../gateway/outbox/encode.js';
import { Outbox } from '../../gateway/outbox/outbox.js';
import { Store } from '../../gateway/store.js';
import { ScanEvent } from '../../protocol/index.js';
import { silentLog, tempDir, testConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/proc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('uplink-security');
const BIN = process.env.NATS_SERVER_BIN ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');
const work = mkdtempSync(join(tmpdir(), 'sg-sec-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

/** nats-server with JetStream and the given extra configuration, on a free port. */
async function server(extra: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(work, 'srv-'));
  const conf = join(dir, 'server.conf');
  writeFileSync(conf, `listen: "127.0.0.1:${port}"\njetstream { store_dir: "${join(dir, 'js')}" }\n${extra}\n`);
  const child: ChildProcess = spawn(BIN, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`nats-server did not start:\n${out}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/Server is ready/.test(out)) {
        clearTimeout(t);
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume();
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`nats-server exited with ${code}:\n${out}`));
    });
  });
  return {
    port,
    stop: () => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGKILL')))),
  };
}

/** A gateway's outbox and uplink with these nats.* settings; sends `n` events and waits for their PubAcks. */
async function forwardWith(nats: ConfigInput['nats'], n = 25, expectOk = true): Promise<{ stats: Uplink['link']['stats']; acked: number }> {
  const tmp = tempDir();
  const cfg = testConfig(tmp.dir, 'nats://127.0.0.1:1', { gatewayId: 'gw-sec', nats: { statusSync: false, query: false, retryDelayMs: 100, ...nats } });
  const store = Store.open(tmp.dir);
  const outbox = new Outbox(store, { gatewayId: 'gw-sec', site: 'demo', maxEvents: 10, maxBytes: 100_000, maxDelayMs: 10, outboxMaxBytes: 1e8, durability: 'commit' }, silentLog);
  const uplink = new Uplink(cfg, { outbox, cache: new Cache(store), store, log: silentLog, lookups: { serial: () => undefined } });
  try {
    uplink.start();
    for (let i = 0; i < n; i++) {
      const seq = outbox.reserveSeq();
      void outbox.append(seq, KIND_SCAN, ScanEvent.encode({ eventId: outbox.eventId(seq), serial: `S${i}` }).finish());
    }
    const end = Date.now() + (expectOk ? 10_000 : 1500);
    while (outbox.stats().ackedEvents < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return { stats: { ...uplink.link.stats }, acked: outbox.stats().ackedEvents };
  } finally {
    await uplink.close();
    outbox.close();
    await store.close();
    tmp.dispose();
  }
}

/** Central's count of events on the stream (connecting with `opts`). */
async function centralCount(opts: ConnectionOptions): Promise<number> {
  const nc = await connect(opts);
  try {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info('SCANGATE_EVENTS')).state.messages;
  } finally {
    await nc.close();
  }
}

test('uplink-security - user and password', async () => {
  const srv = await server('authorization { user: gateway, password: "s3cret!" }');
  try {
    const url = `nats://127.0.0.1:${srv.port}`;
    const ok = await forwardWith({ servers: [url], user: 'gateway', password: 's3cret!' });
    assert.is(ok.acked, 25);
    assert.ok((await centralCount({ servers: url, user: 'gateway', pass: 's3cret!' })) >= 3);
    const bad = await forwardWith({ servers: [url], user: 'gateway', password: 'wrong' }, 5, false);
    assert.is(bad.acked, 0, 'nothing sent with a wrong password: events wait in the outbox');
    assert.match(bad.stats.lastError ?? '', /author/i);
  } finally {
    await srv.stop();
  }
});

test('uplink-security - token', async () => {
  const srv = await server('authorization { token: "t0k3n-for-the-edge" }');
  try {
    const url = `nats://127.0.0.1:${srv.port}`;
    assert.is((await forwardWith({ servers: [url], token: 't0k3n-for-the-edge' })).acked, 25);
    assert.is((await forwardWith({ servers: [url], token: 'nope' }, 5, false)).acked, 0);
  } finally {
    await srv.stop();
  }
});

test('uplink-security - nkey (seed file)', async () => {
  const user = nkeys.createUser();
  const seedFile = join(work, 'gateway.nk');
  writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
  const srv = await server(`authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`);
  try {
    assert.is((await forwardWith({ servers: [`nats://127.0.0.1:${srv.port}`], nkeySeedFile: seedFile })).acked, 25);
  } finally {
    await srv.stop();
  }
});

/** A JWT as nsc writes one: header.claims.signature, claims signed by the issuer's nkey. */
function jwt(issuer: ReturnType<typeof nkeys.createOperator>, subject: string, name: string, nats: Record<string, unknown>): string {
  const b64 = (x: string | Uint8Array) => Buffer.from(x).toString('base64url');
  const claims: Record<string, unknown> = { iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats: { ...nats, version: 2 } };
  claims.jti = createHash('sha256').update(JSON.stringify(claims)).digest('base64url').toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 52);
  const head = b64(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const body = b64(JSON.stringify(claims));
  return `${head}.${body}.${b64(issuer.sign(new TextEncoder().encode(`${head}.${body}`)))}`;
}

test('uplink-security - credentials file (operator mode: user JWT + seed)', async () => {
  const op = nkeys.createOperator();
  const acc = nkeys.createAccount();
  const sys = nkeys.createAccount();
  const usr = nkeys.createUser();
  const opJwt = jwt(op, op.getPublicKey(), 'OP', { type: 'operator', system_account: sys.getPublicKey() });
  const limits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const accJwt = jwt(op, acc.getPublicKey(), 'EDGE', { type: 'account', limits });
  const sysJwt = jwt(op, sys.getPublicKey(), 'SYS', { type: 'account', limits: { ...limits, mem_storage: 0, disk_storage: 0, streams: 0, consumer: 0 } });
  const usrJwt = jwt(acc, usr.getPublicKey(), 'gateway', { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
  const credsFile = join(work, 'gateway.creds');
  writeFileSync(
    credsFile,
    `-----BEGIN NATS USER JWT-----\n${usrJwt}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and prove identity.\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(usr.getSeed())}\n------END USER NKEY SEED------\n`,
  );
  const opFile = join(work, 'op.jwt');
  writeFileSync(opFile, opJwt);
  const srv = await server(`operator: "${opFile}"\nsystem_account: ${sys.getPublicKey()}\nresolver: MEMORY\nresolver_preload: { ${acc.getPublicKey()}: "${accJwt}", ${sys.getPublicKey()}: "${sysJwt}" }`);
  try {
    assert.is((await forwardWith({ servers: [`nats://127.0.0.1:${srv.port}`], credsFile })).acked, 25);
  } finally {
    await srv.stop();
  }
});

test('uplink-security - TLS with a CA and a client certificate (server verifies clients)', async () => {
  const d = mkdtempSync(join(work, 'pki-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=scangate test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  writeFileSync(join(d, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(d, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who}`, '-keyout', `${who}.key`, '-out', `${who}.csr`);
    ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${who}.ext`, '-out', `${who}.pem`);
  }
  const srv = await server(`tls { cert_file: "${join(d, 'server.pem')}", key_file: "${join(d, 'server.key')}", ca_file: "${join(d, 'ca.pem')}", verify: true, timeout: 2 }`);
  try {
    const url = `tls://127.0.0.1:${srv.port}`;
    const ok = await forwardWith({ servers: [url], tls: { caFile: join(d, 'ca.pem'), certFile: join(d, 'client.pem'), keyFile: join(d, 'client.key') } });
    assert.is(ok.acked, 25, 'forwarded over TLS with a client certificate');
    const noCert = await forwardWith({ servers: [url], tls: { caFile: join(d, 'ca.pem'), certFile: '', keyFile: '' } }, 5, false);
    assert.is(noCert.acked, 0, 'refused without a client certificate');
  } finally {
    await srv.stop();
  }
});

test('uplink-security - an unreadable credential file is a clear error at start', () => {
  const tmp = tempDir();
  try {
    const cfg = testConfig(tmp.dir, 'nats://127.0.0.1:1', { nats: { servers: ['nats://127.0.0.1:1'], credsFile: join(tmp.dir, 'missing.creds') } });
    const store = Store.open(tmp.dir);
    try {
      const outbox = new Outbox(store, { gatewayId: 'g', site: 'demo', maxEvents: 10, maxBytes: 100_000, maxDelayMs: 10, outboxMaxBytes: 1e8, durability: 'commit' }, silentLog);
      assert.throws(() => new Uplink(cfg, { outbox, cache: new Cache(store), store, log: silentLog, lookups: { serial: () => undefined } }), (e: Error & { code?: string }) => e.code === 'SG_ERR_NATS_AUTH' && /nats\.credsFile/.test(e.message));
    } finally {
      void store.close();
    }
  } finally {
    tmp.dispose();
  }
});

test.run();
