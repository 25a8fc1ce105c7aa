/** A minimal "central": reads every batch a gateway put into the events stream, decoded. */
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { decodeEventBatch } from '../../protocol/index.js';

export interface StoredBatch {
  streamSeq: number;
  msgId: string | undefined;
  subject: string;
  batch: ReturnType<typeof decodeEventBatch>;
}

/** Every message of the stream (optionally waiting until at least `atLeast` events arrived). */
export async function readEvents(url: string, stream = 'SCANGATE_EVENTS', atLeast = 0, timeoutMs = 10_000): Promise<StoredBatch[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const out: StoredBatch[] = [];
      // The gateway creates the stream when it connects, which may be a moment after the test asks.
      const info = await jsm.streams.info(stream).catch((err: unknown) => {
        if (Date.now() > deadline) throw err;
        return null;
      });
      const total = info?.state.messages ?? 0;
      if (total > 0) {
        const js = jetstream(nc);
        const consumer = await js.consumers.get(stream);
        const iter = await consumer.fetch({ max_messages: total, expires: 2000 });
        for await (const m of iter) {
          out.push({ streamSeq: m.seq, msgId: m.headers?.get('Nats-Msg-Id'), subject: m.subject, batch: decodeEventBatch(m.data) });
          if (out.length >= total) break;
        }
      }
      const events = out.reduce((n, b) => n + b.batch.events.length, 0);
      if (events >= atLeast || Date.now() > deadline) return out;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await nc.close();
  }
}
