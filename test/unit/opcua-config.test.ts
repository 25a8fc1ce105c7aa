/** The opcua configuration section: off by default, a good PLC accepted, a table of bad ones reported by path. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../gateway/config/index.js';
import { ConfigError } from '../../gateway/errors.js';
import { tempDir } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('opcua-config');
const tmp = tempDir('sg-opcua-config-');
test.after(() => tmp.dispose());

const SITE = 'site:\n  lines:\n    - {id: L1, stations: [{id: pack, operation: pack}]}\n';
const READER = '{id: R1, line: L1, station: pack, way: data, dataNode: "nsu=urn:plc;s=L1.R1.ScanRead"}';

function load(yaml: string) {
  const file = join(tmp.dir, `c${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ file, env: {}, cwd: tmp.dir });
}

function problems(yaml: string): string[] {
  try {
    load(yaml);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => i.path);
    throw err;
  }
}

const endpoint = (extra: string, readers = READER) => `${SITE}opcua:\n  enabled: true\n  endpoints:\n    - {id: plc1, url: "opc.tcp://10.0.0.5:4840", ${extra}readers: [${readers}]}\n`;

test('opcua config - off by default: the defaults run without a PLC', () => {
  const { config } = loadConfig({ env: {}, cwd: tmp.dir });
  assert.is(config.opcua.enabled, false);
  assert.is(config.opcua.endpoints, undefined);
});

test('opcua config - a PLC is secure by default (SignAndEncrypt, Basic256Sha256) with its defaults filled in', () => {
  const e = load(endpoint('')).config.opcua.endpoints![0]!;
  assert.is(e.securityMode, 'SignAndEncrypt');
  assert.is(e.securityPolicy, 'Basic256Sha256');
  assert.is(e.readers[0]!.decision.mode, 'none');
  assert.equal(e.readers[0]!.fields, { seq: 'seq', code: 'code', ts: 'ts' });
});

const BAD: [string, string, string[]][] = [
  ['enabled without endpoints', `${SITE}opcua:\n  enabled: true\n`, ['opcua.endpoints']],
  ['not an opc.tcp URL', endpoint('').replace('opc.tcp://10.0.0.5:4840', 'http://plc'), ['opcua.endpoints.0.url']],
  ['mode None with a policy', endpoint('securityMode: None, '), ['opcua.endpoints.0.securityPolicy']],
  ['a policy with PKCS#1 v1.5', endpoint('securityPolicy: Basic128Rsa15, '), ['opcua.endpoints.0.securityPolicy']],
  ['lifetime below 3 keep-alives', endpoint('keepAliveCount: 10, lifetimeCount: 20, '), ['opcua.endpoints.0.lifetimeCount']],
  ['password without user', endpoint('password: x, '), ['opcua.endpoints.0.username']],
  ['way data without dataNode', endpoint('', '{id: R1, line: L1, station: pack, way: data}'), ['opcua.endpoints.0.readers.0.dataNode']],
  ['way scan without device and trigger', endpoint('', '{id: R1, line: L1, station: pack, way: scan}'), ['opcua.endpoints.0.readers.0.device', 'opcua.endpoints.0.readers.0.triggerNode']],
  ['not a node id', endpoint('', '{id: R1, line: L1, station: pack, way: data, dataNode: "Line1.Reader1"}'), ['opcua.endpoints.0.readers.0.dataNode']],
  ['structure decision without its node', endpoint('', `{id: R1, line: L1, station: pack, way: data, dataNode: "ns=3;s=x", decision: {mode: structure}}`), ['opcua.endpoints.0.readers.0.decision.node']],
  ['a station that is not declared', endpoint('', READER.replace('station: pack', 'station: ship')), ['opcua.endpoints.0.readers.0.station']],
  ['the same reader twice', endpoint('', `${READER}, ${READER}`), ['opcua.endpoints.0.readers.1.id']],
];

for (const [name, yaml, paths] of BAD) {
  test(`opcua config - refuses: ${name}`, () => {
    assert.equal(problems(yaml).sort(), [...paths].sort());
  });
}

test.run();
