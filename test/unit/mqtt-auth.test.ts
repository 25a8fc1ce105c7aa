/** Password hashes and the authentication rules of the embedded broker (no sockets). */
import { Authenticator, hashPassword, verifyPassword } from '../../adapters/mqtt/auth.js';
import { PASSWORD_HASH_RE } from '../../gateway/config/mqtt-schema.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-auth');
const COST = 10; // fast in tests; the default is 15

let scanHash = '';
let plcHash = '';

test.before(async () => {
  scanHash = await hashPassword('scan-secret-1', COST);
  plcHash = await hashPassword('plc-secret-1', COST);
});

function auth(allowAnonymousLoopback = true) {
  return new Authenticator({
    prefix: 'scangate/v1',
    site: 'demo',
    allowAnonymousLoopback,
    anonymousRole: 'admin',
    users: [
      { username: 'scan1', passwordHash: scanHash, role: 'scanner', stations: ['L1/pack'] },
      { username: 'plc1', passwordHash: plcHash, role: 'lineController', lines: ['L1'] },
      { username: 'cam1', role: 'scanner', stations: ['L1/aggregate'] }, // certificate only
    ],
  });
}

const creds = (over: Partial<Parameters<Authenticator['authenticate']>[0]>) => ({
  clientId: 'scan1',
  assignedClientId: false,
  username: 'scan1' as string | undefined,
  password: Buffer.from('scan-secret-1') as Buffer | undefined,
  remoteAddress: '10.0.0.5' as string | undefined,
  certificateName: undefined as string | undefined,
  ...over,
});

test('mqtt-auth - hashes are salted scrypt in the config format and verify', async () => {
  const a = await hashPassword('same password', COST);
  const b = await hashPassword('same password', COST);
  assert.match(a, PASSWORD_HASH_RE);
  assert.match(a, /^\$scrypt\$ln=10,r=8,p=1\$/);
  assert.is.not(a, b, 'a fresh salt every time');
  assert.ok(await verifyPassword('same password', a));
  assert.ok(await verifyPassword('same password', b));
  assert.not.ok(await verifyPassword('same passwore', a));
  assert.not.ok(await verifyPassword('', a));
  assert.not.ok(await verifyPassword('same password', 'plain-text'), 'a malformed hash never verifies');
  assert.not.ok(await verifyPassword('same password', a.replace(/\$[^$]+$/, '$AAAA')));
});

test('mqtt-auth - a user with the right password gets its role', async () => {
  const r = await auth().authenticate(creds({}));
  assert.ok(r.ok);
  if (r.ok) {
    assert.is(r.principal.role, 'scanner');
    assert.is(r.principal.username, 'scan1');
  }
  // The second connect with the same password is served from the verified-digest cache; still right.
  const again = await auth().authenticate(creds({}));
  assert.ok(again.ok);
});

test('mqtt-auth - wrong password, unknown user, missing password: bad_credentials (4)', async () => {
  const a = auth();
  for (const c of [creds({ password: Buffer.from('nope') }), creds({ username: 'ghost', clientId: 'ghost' }), creds({ password: undefined })]) {
    const r = await a.authenticate(c);
    assert.not.ok(r.ok);
    if (!r.ok) {
      assert.is(r.reason, 'bad_credentials');
      assert.is(r.returnCode, 4);
    }
  }
  // A correct login first, then a wrong password: the cache never lets a different password through.
  assert.ok((await a.authenticate(creds({}))).ok);
  assert.not.ok((await a.authenticate(creds({ password: Buffer.from('scan-secret-2') }))).ok);
});

test('mqtt-auth - the client id is bound to the user', async () => {
  const a = auth();
  assert.ok((await a.authenticate(creds({ clientId: 'scan1-handheld-3' }))).ok);
  const r = await a.authenticate(creds({ clientId: 'plc1' }));
  assert.not.ok(r.ok, 'scan1 may not take over plc1\'s session');
  if (!r.ok) assert.is(r.reason, 'client_id');
  assert.ok((await a.authenticate(creds({ clientId: 'auto-1', assignedClientId: true }))).ok, 'a broker-assigned id is fine');
});

test('mqtt-auth - anonymous: loopback only, only when enabled, never with a user\'s client id', async () => {
  const anon = (addr: string, clientId = 'tool-1') => creds({ username: undefined, password: undefined, remoteAddress: addr, clientId });
  for (const addr of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.ok((await auth().authenticate(anon(addr))).ok, addr);
  for (const addr of ['10.0.0.5', '192.168.1.10', '::ffff:10.0.0.5', '128.0.0.1']) {
    const r = await auth().authenticate(anon(addr));
    assert.not.ok(r.ok, addr);
    if (!r.ok) assert.is(r.reason, 'anonymous');
  }
  const off = await auth(false).authenticate(anon('127.0.0.1'));
  assert.not.ok(off.ok, 'disabled');
  const hijack = await auth().authenticate(anon('127.0.0.1', 'plc1'));
  assert.not.ok(hijack.ok, 'an anonymous client cannot take a user\'s session');
  if (!hijack.ok) assert.is(hijack.reason, 'client_id');
  const hijack2 = await auth().authenticate(anon('127.0.0.1', 'plc1-x'));
  assert.not.ok(hijack2.ok);
});

test('mqtt-auth - client certificate: the CN is the user; a different user name or an unknown CN is refused', async () => {
  const a = auth();
  const ok = await a.authenticate(creds({ username: undefined, password: undefined, certificateName: 'cam1', clientId: 'cam1' }));
  assert.ok(ok.ok);
  if (ok.ok) assert.is(ok.principal.username, 'cam1');
  const mismatch = await a.authenticate(creds({ username: 'scan1', certificateName: 'cam1', clientId: 'scan1' }));
  assert.not.ok(mismatch.ok);
  if (!mismatch.ok) assert.is(mismatch.reason, 'certificate');
  const unknown = await a.authenticate(creds({ username: undefined, password: undefined, certificateName: 'intruder', clientId: 'intruder' }));
  assert.not.ok(unknown.ok);
  if (!unknown.ok) assert.is(unknown.reason, 'certificate');
  // A certificate-only user cannot log in with a password.
  const pw = await a.authenticate(creds({ username: 'cam1', clientId: 'cam1', password: Buffer.from('anything') }));
  assert.not.ok(pw.ok);
});

test.run();
