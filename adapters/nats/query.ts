/**
 * Request/reply lookups on `scangate.v1.query.{site}.{gatewayId}` (core NATS, no stream). A request is JSON:
 *   {"type":"serial","gtin":"09520123456788","serial":"SN1"}
 *   {"type":"code","code":"]d201095201234567881730123110LOT-A1\u001d21SN1"}   (any read the parser accepts)
 *   {"type":"container","sscc":"095201234567890122"}
 *   {"type":"status"}                                                            (the gateway's uplink status)
 * and the reply is JSON: {"ok":true,"found":true,...} or {"ok":false,"error":"SG_ERR_QUERY_INVALID","message":...}.
 * Lookups read the local cache only; they never wait for central.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { parseRead } from '../../gateway/parse/index.js';
import type { NatsLink } from './link.js';

export interface QueryLookups {
  serial(gtin: string, serial: string): unknown;
  container?(sscc: string): unknown;
  status(): unknown;
}

export interface QueryStats {
  requests: number;
  invalid: number;
}

function invalid(message: string): Record<string, unknown> {
  return { ok: false, error: 'SG_ERR_QUERY_INVALID', message };
}

/** Answer one request (pure: bytes in, JSON-able out). */
export function answer(data: Uint8Array, lookups: QueryLookups): Record<string, unknown> {
  let req: unknown;
  try {
    req = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return invalid('the request is not JSON');
  }
  if (req === null || typeof req !== 'object') return invalid('the request must be a JSON object with a "type"');
  const r = req as Record<string, unknown>;
  const str = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const found = (v: unknown, what: Record<string, unknown>) => (v === undefined || v === null ? { ok: true, found: false, ...what } : { ok: true, found: true, ...(v as object) });
  switch (r.type) {
    case 'serial': {
      const gtin = str('gtin');
      const serial = str('serial');
      if (gtin === undefined || !/^\d{14}$/.test(gtin) || serial === undefined || serial === '') return invalid('"serial" needs "gtin" (14 digits) and "serial"');
      return found(lookups.serial(gtin, serial), { gtin, serial });
    }
    case 'container': {
      const sscc = str('sscc');
      if (sscc === undefined || !/^\d{18}$/.test(sscc)) return invalid('"container" needs "sscc" (18 digits)');
      if (lookups.container === undefined) return invalid('containers are not kept by this gateway');
      return found(lookups.container(sscc), { sscc });
    }
    case 'code': {
      const code = str('code');
      if (code === undefined) return invalid('"code" needs "code"');
      const p = parseRead(code.replaceAll('<GS>', '\u001d'));
      if (!p.ok) return { ok: true, found: false, reason: p.reason, message: p.message };
      if (p.gtin !== undefined && p.serial !== undefined) return found(lookups.serial(p.gtin, p.serial), { gtin: p.gtin, serial: p.serial });
      if (p.sscc !== undefined && lookups.container !== undefined) return found(lookups.container(p.sscc), { sscc: p.sscc });
      return { ok: true, found: false, message: 'the code names neither a serialised item nor a container' };
    }
    case 'status':
      return { ok: true, ...(lookups.status() as object) };
    default:
      return invalid('"type" must be serial, code, container or status');
  }
}

export class QueryResponder {
  private readonly link: NatsLink;
  private readonly subject: string;
  private readonly lookups: QueryLookups;
  private readonly log: Logger;
  private sub: Subscription | null = null;
  private unsub: (() => void) | null = null;
  readonly stats: QueryStats = { requests: 0, invalid: 0 };

  constructor(link: NatsLink, subject: string, lookups: QueryLookups, log: Logger) {
    this.link = link;
    this.subject = subject;
    this.lookups = lookups;
    this.log = log;
  }

  start(): void {
    // nats.js re-subscribes after a reconnect by itself: one subscription for the life of the connection.
    this.unsub = this.link.onUp((nc: NatsConnection) => {
      if (this.sub !== null) return;
      this.sub = nc.subscribe(this.subject, { callback: (err, msg) => (err === null ? this.onMsg(msg) : undefined) });
      this.log.info({ subject: this.subject }, 'answering queries');
    });
  }

  private onMsg(msg: Msg): void {
    this.stats.requests++;
    let out: Record<string, unknown>;
    try {
      out = answer(msg.data, this.lookups);
    } catch (err) {
      out = { ok: false, error: 'SG_ERR_STORE', message: (err as Error).message };
    }
    if (out.ok === false) this.stats.invalid++;
    if (msg.reply) msg.respond(JSON.stringify(out));
  }

  close(): void {
    this.unsub?.();
    this.sub?.unsubscribe();
    this.sub = null;
  }
}
