/** The HTTP API answers a bad request with 400 and what is wrong, never 500; HEAD works as GET without a body. */
import { startGateway } from '../../cli/daemon.js';
import { STATUSES } from '../../gateway/reasons.js';
import { newRecord } from '../../gateway/cache/record.js';
import { demoGtin, silentLog, tempDir, testConfig } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('http-api');
const G = demoGtin(9);

test('http-api - serial lookups: found, not cached, and each kind of bad request named', async () => {
  const tmp = tempDir('sg-http-');
  const gw = await startGateway(testConfig(tmp.dir, 'nats://127.0.0.1:1', { http: { enabled: true, host: '127.0.0.1', port: 0 } }), silentLog);
  try {
    await gw.pipeline.engine.cache.putSerial(G, 'A%1', newRecord(STATUSES.RECEIVED, 'L1', '2030-12-31'));
    const base = `http://127.0.0.1:${gw.httpPort}`;
    const get = async (path: string, method = 'GET') => {
      const r = await fetch(base + path, { method });
      const text = await r.text();
      return { status: r.status, body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>), allow: r.headers.get('allow') };
    };
    const found = await get(`/api/serials/${G}/${encodeURIComponent('A%1')}`);
    assert.is(found.status, 200);
    assert.is(found.body?.status, 'RECEIVED');
    assert.equal(await get(`/api/serials/${G}/NOPE`), { status: 404, body: { error: 'not in the cache' }, allow: null });
    const cases: [string, RegExp][] = [
      [`/api/serials/${G}/SN%2`, /not valid percent-encoding/],
      [`/api/serials/${G}/%FF%FE`, /not valid percent-encoding/],
      ['/api/serials/abc/SN1', /GTIN "abc" must be 14 digits/],
      [`/api/serials/${G.slice(0, 13)}/SN1`, /must be 14 digits/],
      [`/api/serials/${G.slice(0, 13)}${(Number(G[13]) + 1) % 10}/SN1`, /has check digit .*, expected/],
      [`/api/serials/${G}/${'S'.repeat(5000)}`, /serial must be 1-20 characters \(got 5000\)/],
      [`/api/serials/${G}/`, /serial must be 1-20 characters \(got 0\)/],
    ];
    for (const [path, re] of cases) {
      const r = await get(path);
      assert.is(r.status, 400, path.slice(0, 80));
      assert.match(String(r.body?.error), re);
    }
    const head = await get('/healthz', 'HEAD');
    assert.equal([head.status, head.body], [200, null]);
    const post = await get('/healthz', 'POST');
    assert.equal([post.status, post.allow], [405, 'GET, HEAD']);
  } finally {
    await gw.close();
    tmp.dispose();
  }
});

test.run();
