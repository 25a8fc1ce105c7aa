/** Every error code is documented in the README and none is reused. */
import { readFileSync } from 'node:fs';
import { ERROR_CODES, GatewayError, ConfigError, describeError } from '../../gateway/errors.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('errors');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('errors - every code is listed in the README error table', () => {
  for (const code of Object.keys(ERROR_CODES)) assert.ok(readme.includes(`\`${code}\``), `${code} is documented in README.md`);
});

test('errors - every SG_ERR code named in the source exists, and codes are unique', () => {
  const codes = Object.keys(ERROR_CODES);
  assert.is(new Set(codes).size, codes.length);
  for (const c of codes) assert.match(c, /^SG_ERR_[A-Z_]+$/);
  const documented = new Set(readme.match(/SG_ERR_[A-Z_]+/g) ?? []);
  for (const d of documented) assert.ok(codes.includes(d), `README names ${d}, which does not exist`);
});

test('errors - describe() gives code, message and hint; cause is chained', () => {
  const cause = new Error('EADDRINUSE');
  const e = new GatewayError('SG_ERR_PORT_IN_USE', '0.0.0.0:1883 is already in use (mqtt.port)', { cause, hint: 'set mqtt.port' });
  assert.is(e.cause, cause);
  assert.is(describeError(e), 'SG_ERR_PORT_IN_USE: 0.0.0.0:1883 is already in use (mqtt.port)\n  hint: set mqtt.port');
  const c = new ConfigError([{ path: 'a.b', message: 'bad', line: 3, hint: 'fix' }], 'x.yaml');
  assert.is(c.code, 'SG_ERR_CONFIG_INVALID');
  assert.match(c.message, /a\.b \(line 3\): bad \(fix\)/);
});

test.run();
