/** Journal values as the pipeline writes them: the kind byte, then the encoded event, in one buffer. */
import protobuf from 'protobufjs/minimal.js';
import type { EventKind } from './encode.js';

/** Encode `msg` after its kind byte in the same buffer (no copy). Kinds are < 128: the varint is one byte. */
export function journalValue<T>(kind: EventKind, encode: (msg: T, w: protobuf.Writer) => protobuf.Writer, msg: T): Uint8Array {
  return encode(msg, protobuf.Writer.create().uint32(kind)).finish();
}
