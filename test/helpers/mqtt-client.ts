/** mqtt.js clients for the MQTT tests: collected messages, waiting, and the outcome of refused connections. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  json<T = Record<string, unknown>>(): T;
}

export interface TestClient {
  client: MqttClient;
  messages: Received[];
  /** Resolves with the messages once `n` have arrived (or after ms with what there is). */
  waitFor(n: number, ms?: number, filter?: (m: Received) => boolean): Promise<Received[]>;
  /** Resolves when the connection closes (or rejects after ms). */
  closed(ms?: number): Promise<void>;
  end(): Promise<void>;
}

let seq = 0;

/** Connect (no reconnects) and collect every message. Rejects with the broker's refusal. */
export async function connectClient(url: string, opts: IClientOptions = {}): Promise<TestClient> {
  const client = mqtt.connect(url, { clientId: `test-${process.pid}-${++seq}`, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload, qos: packet.qos, retain: packet.retain, json: () => JSON.parse(payload.toString()) }),
  );
  client.on('error', () => undefined);
  let isClosed = false;
  const closeWaiters: (() => void)[] = [];
  client.on('close', () => {
    isClosed = true;
    for (const w of closeWaiters.splice(0)) w();
  });
  return {
    client,
    messages,
    async waitFor(n, ms = 5000, filter) {
      const end = Date.now() + ms;
      const pick = () => (filter ? messages.filter(filter) : messages);
      while (pick().length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      return pick();
    },
    closed(ms = 5000) {
      if (isClosed) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
        closeWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
    async end() {
      await client.endAsync(true).catch(() => undefined);
    },
  };
}

/**
 * Try to connect: null when connected, the CONNACK refusal code when refused, 'closed' when the connection was
 * closed before any CONNACK (limits), or the error message.
 */
export function refusal(url: string, opts: IClientOptions = {}): Promise<number | string | null> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { clientId: `test-${process.pid}-${++seq}`, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    let settled = false;
    const finish = (v: number | string | null) => {
      if (settled) return;
      settled = true;
      client.end(true, {}, () => resolve(v));
    };
    client.once('connect', () => finish(null));
    client.once('error', (err: Error & { code?: number | string }) => finish(typeof err.code === 'number' ? err.code : err.message));
    client.once('close', () => finish('closed'));
  });
}

/** Subscribe and return the granted QoS per filter (128 = refused). */
export async function subscribeGranted(c: TestClient, filters: string[], qos: 0 | 1 = 1): Promise<number[]> {
  try {
    const granted = await c.client.subscribeAsync(filters, { qos });
    return granted.map((g) => g.qos);
  } catch (err) {
    // mqtt.js rejects when any filter is refused; the SUBACK is on the error.
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted !== undefined) return packet.granted;
    throw err;
  }
}
