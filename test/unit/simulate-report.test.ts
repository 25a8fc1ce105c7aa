/** The simulator's summary of the gateway's own latency (from its /api/status histograms) beside the end-to-end figures. */
import { gatewayLatency } from '../../simulator/report.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('simulate-report');

test('gatewayLatency names the decision and the acknowledgement delay from the gateway status', () => {
  const s = gatewayLatency({
    mqtt: {
      verdictLatency: { count: 350000, meanMs: 0.027, p50AtMostMs: 0.05, p99AtMostMs: 0.25, p999AtMostMs: 1 },
      ackLatency: { count: 348855, meanMs: 12.4, p50AtMostMs: 10, p99AtMostMs: 250, p999AtMostMs: '>30000' },
    },
    counters: {},
  });
  assert.is(s, 'broker receipt -> verdict published mean 0.027 ms, p99 <= 0.25 ms; decision -> PUBACK (durable) mean 12.4 ms, p99 <= 250 ms');
});

test('gatewayLatency is null for a gateway that reports no histogram or no read, and omits a missing ack figure', () => {
  assert.is(gatewayLatency(null), null);
  assert.is(gatewayLatency({ counters: {} }), null);
  assert.is(gatewayLatency({ mqtt: { verdictLatency: { count: 0, meanMs: null, p99AtMostMs: null } } }), null);
  assert.is(gatewayLatency({ mqtt: { verdictLatency: { count: 3, meanMs: 0.1, p99AtMostMs: 0.25 } } }), 'broker receipt -> verdict published mean 0.1 ms, p99 <= 0.25 ms');
});

test.run();
