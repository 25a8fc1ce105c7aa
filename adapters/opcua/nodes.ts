/**
 * Node ids from the configuration, resolved against the server's NamespaceArray at every session: a
 * `nsu=<uri>;...` id survives a PLC that renumbers its namespaces after a restart, `ns=<n>;...` is taken as is.
 */
import { DataType, NodeId, resolveNodeId } from 'node-opcua';
import { GatewayError } from '../../gateway/errors.js';

/** Resolve one configured node id. Throws SG_ERR_OPCUA_NODE when its namespace URI is unknown to the server. */
export function resolveConfiguredNodeId(text: string, namespaceArray: readonly string[], where: string): NodeId {
  let rest = text;
  if (text.startsWith('nsu=')) {
    const semi = text.indexOf(';');
    const uri = text.slice(4, semi);
    const index = namespaceArray.indexOf(uri);
    if (index < 0) {
      throw new GatewayError('SG_ERR_OPCUA_NODE', `${where}: namespace ${uri} is not on the server (${text})`, {
        hint: `the server's namespaces are: ${namespaceArray.join(', ')}`,
      });
    }
    rest = `ns=${index};${text.slice(semi + 1)}`;
  }
  try {
    return resolveNodeId(rest);
  } catch (err) {
    throw new GatewayError('SG_ERR_OPCUA_NODE', `${where}: "${text}" is not a node id`, { cause: err });
  }
}

/** Built-in scalar data types by their ns=0 numeric node id (OPC UA Part 6 5.1.2). */
const BUILTIN: Record<number, DataType> = {
  1: DataType.Boolean,
  2: DataType.SByte,
  3: DataType.Byte,
  4: DataType.Int16,
  5: DataType.UInt16,
  6: DataType.Int32,
  7: DataType.UInt32,
  8: DataType.Int64,
  9: DataType.UInt64,
  10: DataType.Float,
  11: DataType.Double,
  12: DataType.String,
};

/**
 * The Variant type to write a number into a node of this DataType. Enumerations and other non-built-in integer
 * types are written as Int32 (enumerations are encoded as Int32, Part 6 5.2.4); null when a number does not fit.
 */
export function numericVariantType(dataType: NodeId | null | undefined): DataType | null {
  if (dataType === null || dataType === undefined) return null;
  if (dataType.namespace === 0 && typeof dataType.value === 'number') {
    const t = BUILTIN[dataType.value];
    if (t !== undefined) return t === DataType.String ? null : t;
    if (dataType.value === 29 || dataType.value === 26 || dataType.value === 27 || dataType.value === 28) return DataType.Int32; // Enumeration, Number, Integer, UInteger
    return null;
  }
  return DataType.Int32;
}

/**
 * value coerced to what a Variant of this type carries. Integers wrap to the type's range, as a PLC counter of that
 * type does: a seq echoed into a Byte node after 255 is 0 again (the PLC's own Byte counter is 0 again too),
 * rather than a value the type cannot hold, which node-opcua refuses for the whole write request.
 */
export function numericVariantValue(t: DataType, n: number): number | boolean | bigint | [number, number] {
  switch (t) {
    case DataType.Boolean:
      return n !== 0;
    case DataType.Int64:
    case DataType.UInt64:
      return [Math.floor(n / 0x1_0000_0000) >>> 0, n >>> 0];
    case DataType.Byte:
      return n & 0xff;
    case DataType.SByte:
      return ((n & 0xff) << 24) >> 24;
    case DataType.UInt16:
      return n & 0xffff;
    case DataType.Int16:
      return ((n & 0xffff) << 16) >> 16;
    case DataType.UInt32:
      return n >>> 0;
    case DataType.Int32:
      return n | 0;
    default:
      return n;
  }
}
