/**
 * Connection limits of the embedded broker, applied before a byte of MQTT is parsed: total connections over
 * every listener, and new connections per remote address per second. And the packet size limit, applied as
 * soon as a packet's fixed header says how long it is (never after buffering it).
 */
import type { Client } from 'aedes';
import type { RefusalReason } from './stats.js';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectsPerAddressPerS: number;
}

/** Admits or refuses new connections; one instance shared by the TCP, TLS and WebSocket listeners. */
export class ConnectionGuard {
  private readonly limits: ConnectionLimits;
  private open = 0;
  /** Connections accepted in the current one-second window, per address. */
  private window = new Map<string, number>();
  private windowStart = 0;

  constructor(limits: ConnectionLimits) {
    this.limits = limits;
  }

  get connections(): number {
    return this.open;
  }

  /** Null when admitted (call release() when it closes), else the reason it is refused. */
  admit(address: string | undefined, nowMs = Date.now()): RefusalReason | null {
    if (this.open >= this.limits.maxConnections) return 'max_connections';
    if (nowMs - this.windowStart >= 1000) {
      // A fresh window: forget every address (bounded memory, no timers).
      this.window = new Map();
      this.windowStart = nowMs;
    }
    const key = address ?? '';
    const n = (this.window.get(key) ?? 0) + 1;
    this.window.set(key, n);
    if (n > this.limits.maxConnectsPerAddressPerS) return 'connect_rate';
    this.open++;
    return null;
  }

  release(): void {
    this.open--;
  }
}

interface ParserLike {
  packet: { length: number; cmd?: string };
  _parseLength: () => boolean;
  _emitError: (err: Error) => void;
}

/**
 * Refuse any packet longer than maxBytes as soon as its remaining length is decoded (mqtt-packet parser
 * state `_parseLength`), so a client cannot make the broker buffer a huge packet. Returns false when the
 * parser does not have the expected shape (then the size is checked on PUBLISH only, see embedded.ts).
 */
export function limitPacketSize(client: Client, maxBytes: number, onRefuse: (length: number) => void): boolean {
  const parser = (client as unknown as { _parser?: ParserLike })._parser;
  if (parser === undefined || typeof parser._parseLength !== 'function' || typeof parser._emitError !== 'function') return false;
  const parseLength = parser._parseLength;
  parser._parseLength = function limitedParseLength(this: ParserLike): boolean {
    const ok = parseLength.call(this);
    if (ok && this.packet.length > maxBytes) {
      onRefuse(this.packet.length);
      this._emitError(new Error(`packet of ${this.packet.length} bytes is larger than mqtt.limits.maxPacketBytes (${maxBytes})`));
      return false;
    }
    return ok;
  };
  return true;
}
