/**
 * OPC UA security against two virtual PLCs: one offering only Sign / SignAndEncrypt (Basic256Sha256 and the
 * RSA-OAEP/PSS Aes policies) with a user, one offering only None. The gateway's PKI lives in a temp dir.
 */
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Gateway } from '../../cli/daemon.js';
import type { VirtualPlc } from '../../simulator/plc/index.js';
import { tempDir } from '../helpers/gateway.js';
import { readerConfig, sleep, startPlc, startPlcGateway, waitUntil } from '../helpers/plc.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-security', {}, 30_000);
let tmp: ReturnType<typeof tempDir>;
let secure: VirtualPlc;
let insecure: VirtualPlc;
let pki: string;
let n = 0;

const USER = { username: 'operator', password: 'line-1-secret' };
/** The PLC's users (it checks each login against this list as it is then). */
const PLC_USERS = [{ ...USER }];

test.before(async () => {
  tmp = tempDir('sg-opcua-sec-');
  pki = join(tmp.dir, 'gateway-pki');
  [secure, insecure] = await Promise.all([
    startPlc(join(tmp.dir, 'secure'), {
      readers: [{ id: 'R1', ways: ['data'] }],
      securityModes: ['Sign', 'SignAndEncrypt'],
      securityPolicies: ['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'],
      users: PLC_USERS,
    }),
    startPlc(join(tmp.dir, 'insecure'), { readers: [{ id: 'R1', ways: ['data'] }], securityModes: ['None'], securityPolicies: ['None'] }),
  ]);
}, 60_000);

test.after(async () => {
  await secure?.close();
  await insecure?.close();
  tmp?.dispose();
});

/** A gateway on one PLC with this security; its own data dir, the shared PKI folder. */
function gateway(plc: VirtualPlc, endpoint: Record<string, unknown>): Promise<Gateway> {
  return startPlcGateway(tmp.dir, plc, {
    serials: n === 0 ? 100 : 0,
    dataName: `data-${n++}`,
    opcua: { pkiDir: pki },
    endpoint,
    readers: [readerConfig(plc, 'R1', 'data', 'structure')],
  });
}

const ep = (gw: Gateway) => gw.opcua!.status().endpoints[0]!;

async function refusedWith(gw: Gateway, code: string): Promise<void> {
  await waitUntil(() => ep(gw).lastError?.code === code, 10_000, `${code} (last error: ${JSON.stringify(ep(gw).lastError)})`);
  assert.is(ep(gw).state, 'connecting', 'no session');
  assert.is(ep(gw).connects, 0);
}

/** Reads on the PLC are decided through this gateway. */
async function decides(gw: Gateway, plc: VirtualPlc): Promise<void> {
  await waitUntil(() => ep(gw).state === 'connected', 10_000, 'the session');
  await sleep(200);
  const recs = [plc.line.produce('R1'), plc.line.produce('R1'), plc.line.produce('R1')];
  await waitUntil(() => recs.every((r) => r.decisions === 1), 5_000, 'three decisions');
}

test('opcua security - an untrusted PLC certificate is refused by default and lands in the rejected folder', async () => {
  const gw = await gateway(secure, { url: secure.endpointUrl, securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', ...USER });
  try {
    await refusedWith(gw, 'SG_ERR_OPCUA_CERT_UNTRUSTED');
    const rejected = readdirSync(join(pki, 'rejected')).filter((f) => f.endsWith('.pem'));
    assert.is(rejected.length, 1, 'the PLC certificate is in rejected/');
    assert.match(rejected[0]!, /scangate virtual PLC/);
    assert.ok(existsSync(join(pki, 'own', 'certs', 'client_certificate.pem')), "the gateway's own certificate is in the configured PKI folder");
    const rec = secure.line.produce('R1');
    await sleep(300);
    assert.is(rec.decisions, 0, 'no read taken from an untrusted PLC');

    // The operator checks the certificate and trusts it: the next attempt connects, no restart.
    renameSync(join(pki, 'rejected', rejected[0]!), join(pki, 'trusted', 'certs', rejected[0]!));
    await decides(gw, secure);
    assert.is(ep(gw).security, 'SignAndEncrypt/Basic256Sha256');
  } finally {
    await gw.close();
  }
});

for (const [mode, policy] of [
  ['Sign', 'Aes128_Sha256_RsaOaep'],
  ['SignAndEncrypt', 'Aes256_Sha256_RsaPss'],
  ['Sign', 'Basic256Sha256'],
] as const) {
  test(`opcua security - ${mode} with ${policy}: connects and decides`, async () => {
    const gw = await gateway(secure, { url: secure.endpointUrl, securityMode: mode, securityPolicy: policy, ...USER });
    try {
      await decides(gw, secure);
    } finally {
      await gw.close();
    }
  });
}

test('opcua security - a wrong password is refused (SG_ERR_OPCUA_AUTH)', async () => {
  const gw = await gateway(secure, { url: secure.endpointUrl, securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', username: USER.username, password: 'guess' });
  try {
    await refusedWith(gw, 'SG_ERR_OPCUA_AUTH');
  } finally {
    await gw.close();
  }
});

test('opcua security - anonymous is refused by a PLC that requires a user (SG_ERR_OPCUA_AUTH)', async () => {
  const gw = await gateway(secure, { url: secure.endpointUrl, securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' });
  try {
    await refusedWith(gw, 'SG_ERR_OPCUA_AUTH');
  } finally {
    await gw.close();
  }
});

test('opcua security - an insecure endpoint is refused when a secure one is required (SG_ERR_OPCUA_SECURITY)', async () => {
  const gw = await gateway(insecure, { url: insecure.endpointUrl, securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' });
  try {
    await refusedWith(gw, 'SG_ERR_OPCUA_SECURITY');
    const rec = insecure.line.produce('R1');
    await sleep(300);
    assert.is(rec.decisions, 0, 'no read taken over an insecure channel');
  } finally {
    await gw.close();
  }
});

test('opcua security - a PLC that offers no unsecured endpoint refuses securityMode None (SG_ERR_OPCUA_SECURITY)', async () => {
  const gw = await gateway(secure, { url: secure.endpointUrl, securityMode: 'None', securityPolicy: 'None', ...USER });
  try {
    await refusedWith(gw, 'SG_ERR_OPCUA_SECURITY');
  } finally {
    await gw.close();
  }
});

test('opcua security - a PLC back from a restart with the password changed: not repaired forever, SG_ERR_OPCUA_AUTH, connected again once it is right', async () => {
  const trusted = join(pki, 'trusted', 'certs');
  const gw = await gateway(secure, { url: secure.endpointUrl, securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', ...USER });
  try {
    // The first test trusted this PLC's certificate in the shared PKI folder.
    assert.ok(existsSync(trusted) && readdirSync(trusted).length > 0, 'the PLC certificate is trusted');
    await decides(gw, secure);
    await secure.stop();
    PLC_USERS[0]!.password = 'changed-at-night';
    await secure.start();
    // node-opcua's repair retries the session forever without a word; the gateway gives it up and connects anew.
    await waitUntil(() => ep(gw).lastError?.code === 'SG_ERR_OPCUA_AUTH', 45_000, `SG_ERR_OPCUA_AUTH (last error: ${JSON.stringify(ep(gw).lastError)})`);
    assert.is(ep(gw).state, 'connecting');
    PLC_USERS[0]!.password = USER.password;
    await decides(gw, secure);
  } finally {
    PLC_USERS[0]!.password = USER.password;
    await gw.close();
  }
}, 70_000);

test.run();
