/**
 * A reader's configuration bound to a session: node ids resolved against the PLC's namespaces and checked to
 * exist, the AutoID Scan method and its settings, the decision plan (structure constructor, node data types,
 * method argument types), and the AutoID event filter. Redone at every new session.
 */
import {
  AttributeIds,
  ContentFilter,
  ContentFilterElement,
  DataType,
  EventFilter,
  FilterOperator,
  LiteralOperand,
  NodeId,
  QualifiedName,
  SimpleAttributeOperand,
  Variant,
  resolveNodeId,
  type ClientSession,
  type DataValue,
} from 'node-opcua';
import type { OpcuaReaderConfig } from '../../gateway/config/opcua-schema.js';
import { GatewayError } from '../../gateway/errors.js';
import { numericVariantType, resolveConfiguredNodeId } from './nodes.js';
import type { ReaderBinding } from './reader.js';
import type { DecisionPlan, Target } from './writer.js';

export const AUTOID_URI = 'http://opcfoundation.org/UA/AutoID/';
/** AutoID type ids (OPC 30010 NodeSet, namespace AUTOID_URI). */
export const AUTOID = { AutoIdScanEventType: 1004, OpticalScanEventType: 1009, ScanResult: 3001, OpticalScanResult: 3026, ScanSettings: 3010 } as const;

/** Resolve a reader's nodes on this session and check that they exist and fit. */
export async function bindReader(session: ClientSession, ns: readonly string[], c: OpcuaReaderConfig): Promise<ReaderBinding> {
  const at = `reader ${c.id}`;
  const id = (t: string | undefined, key: string) => (t === undefined ? undefined : resolveConfiguredNodeId(t, ns, `${at} ${key}`));
  const b: ReaderBinding = { plan: null };
  const device = id(c.device, 'device');
  if (device !== undefined) b.device = device;
  const dataNode = id(c.dataNode, 'dataNode');
  if (dataNode !== undefined) b.dataNode = dataNode;
  const codeNode = id(c.codeNode, 'codeNode');
  if (codeNode !== undefined) b.codeNode = codeNode;
  const counterNode = id(c.counterNode, 'counterNode');
  if (counterNode !== undefined) b.counterNode = counterNode;
  const triggerNode = id(c.triggerNode, 'triggerNode');
  if (triggerNode !== undefined) b.triggerNode = triggerNode;
  // Every node must exist: read its NodeClass (and DataType for variables) in one request.
  const check = [device, dataNode, codeNode, counterNode, triggerNode].filter((x): x is NodeId => x !== undefined);
  const classes = await session.read(check.map((nodeId) => ({ nodeId, attributeId: AttributeIds.NodeClass })));
  classes.forEach((dv, i) => {
    if ((dv.statusCode.value & 0xc0000000) !== 0) throw new GatewayError('SG_ERR_OPCUA_NODE', `${at}: node ${check[i]!.toString()} is not usable (${dv.statusCode.toString()})`);
  });
  if (dataNode !== undefined) {
    const [dt] = await session.read([{ nodeId: dataNode, attributeId: AttributeIds.DataType }]);
    const dataType = dt?.value.value as NodeId | undefined;
    if (!(dataType instanceof NodeId) || (dataType.namespace === 0 && dataType.value !== 22)) {
      throw new GatewayError('SG_ERR_OPCUA_NODE', `${at}: dataNode ${c.dataNode} is not a structure {seq, code, ts} (its DataType is ${String(dataType)})`, {
        hint: 'way data reads a structured variable; for a plain code next to a counter use way counter',
      });
    }
    if (dataType.namespace !== 0) await extensionConstructor(session, dataType); // load the type before the first value
  }
  if (c.way === 'scan' && device !== undefined) {
    const nsAutoId = ns.indexOf(AUTOID_URI);
    b.scanMethod = await childNode(session, device, 'Scan', nsAutoId, `${at}: the device has no AutoID Scan method`);
    const Settings = await extensionConstructor(session, new NodeId(NodeId.NodeIdType.NUMERIC, AUTOID.ScanSettings, nsAutoId));
    const duration = c.scanTimeoutMs;
    b.scanSettings = () => new Settings({ duration, cycles: 0, dataAvailable: true });
  }
  b.plan = await decisionPlan(session, c, id);
  return b;
}

/**
 * A decision node the PLC does not let this user write (UserAccessLevel without CurrentWrite, Part 3 8.57) is a
 * configuration error found at bind time, not a write that fails half (the value landing, the seq not) at every
 * read. A server that does not answer the attribute is not held to it.
 */
function notWritable(ual: DataValue | undefined, what: string): void {
  const level = ual?.value.value;
  if (ual === undefined || (ual.statusCode.value & 0xc0000000) !== 0 || typeof level !== 'number') return;
  if ((level & 0x02) !== 0) return;
  throw new GatewayError('SG_ERR_OPCUA_NODE', `${what} is not writable for the gateway's user (its UserAccessLevel has no CurrentWrite)`, {
    hint: "give the gateway's OPC UA user write access to it on the PLC, or name the PLC's writable decision node",
  });
}

async function decisionPlan(session: ClientSession, c: OpcuaReaderConfig, id: (t: string | undefined, key: string) => NodeId | undefined): Promise<DecisionPlan | null> {
  const d = c.decision;
  const at = `reader ${c.id} decision`;
  if (d.mode === 'none') return null;
  if (d.mode === 'structure') {
    const nodeId = id(d.node, 'decision.node')!;
    const [dt, ual] = await session.read([
      { nodeId, attributeId: AttributeIds.DataType },
      { nodeId, attributeId: AttributeIds.UserAccessLevel },
    ]);
    notWritable(ual, `${at}: node ${d.node}`);
    const dataType = dt?.value.value;
    if (dt === undefined || (dt.statusCode.value & 0xc0000000) !== 0 || !(dataType instanceof NodeId)) {
      throw new GatewayError('SG_ERR_OPCUA_NODE', `${at}: node ${d.node} is not usable (${dt?.statusCode.toString() ?? 'no answer'})`);
    }
    const Ctor = await extensionConstructor(session, dataType);
    const names = (Ctor as { schema?: { fields?: { name: string }[] } }).schema?.fields?.map((f) => f.name) ?? [];
    const pick = (...wanted: string[]) => names.find((n) => wanted.includes(n.toLowerCase()));
    const fSeq = pick('seq', 'sequence', 'readseq');
    const fValue = pick('decision', 'value', 'verdict');
    const fReason = pick('reasoncode', 'reason');
    if (fSeq === undefined || fValue === undefined) {
      throw new GatewayError('SG_ERR_OPCUA_NODE', `${at}: the structure of ${d.node} has no seq and decision fields (it has ${names.join(', ')})`, {
        hint: 'the decision structure needs fields named seq, decision and (optionally) reasonCode',
      });
    }
    return {
      kind: 'structure',
      nodeId,
      make: (seq, value, reason) => {
        const o: Record<string, number> = { [fSeq]: seq, [fValue]: value };
        if (fReason !== undefined) o[fReason] = reason;
        return new Ctor(o);
      },
    };
  }
  if (d.mode === 'nodes') {
    const target = async (text: string | undefined, key: string): Promise<Target | null> => {
      const nodeId = id(text, key);
      if (nodeId === undefined) return null;
      const [dt, ual] = await session.read([
        { nodeId, attributeId: AttributeIds.DataType },
        { nodeId, attributeId: AttributeIds.UserAccessLevel },
      ]);
      notWritable(ual, `${at}: ${key} ${text}`);
      const type = numericVariantType(dt?.value.value as NodeId | undefined);
      if (dt === undefined || (dt.statusCode.value & 0xc0000000) !== 0 || type === null) {
        throw new GatewayError('SG_ERR_OPCUA_NODE', `${at}: ${key} ${text} is not a writable number (${dt?.statusCode.toString() ?? 'no answer'})`);
      }
      return { nodeId, type };
    };
    const seq = await target(d.seqNode, 'decision.seqNode');
    const value = await target(d.valueNode, 'decision.valueNode');
    const reason = await target(d.reasonCodeNode, 'decision.reasonCodeNode');
    return { kind: 'nodes', seq: seq!, value: value!, reason };
  }
  const objectId = id(d.objectNode, 'decision.objectNode')!;
  const methodId = id(d.methodNode, 'decision.methodNode')!;
  const argsNode = await childNode(session, methodId, 'InputArguments', 0, `${at}: method ${d.methodNode} has no InputArguments`);
  const [args] = await session.read([{ nodeId: argsNode, attributeId: AttributeIds.Value }]);
  const list = (Array.isArray(args?.value.value) ? args.value.value : []) as { dataType?: NodeId }[];
  const types = list.map((a) => numericVariantType(a.dataType));
  if (types.length < 2 || types.length > 3 || types.some((t) => t === null)) {
    throw new GatewayError('SG_ERR_OPCUA_NODE', `${at}: method ${d.methodNode} must take (seq, decision[, reasonCode]) as numbers`);
  }
  return { kind: 'method', objectId, methodId, types: [types[0]!, types[1]!, types[2] ?? null] };
}

/** Load the AutoID result types before events or Scan results arrive, so they decode in order. */
export async function prewarmAutoIdTypes(session: ClientSession, namespaces: readonly string[], readers: readonly OpcuaReaderConfig[]): Promise<void> {
  const nsAutoId = namespaces.indexOf(AUTOID_URI);
  if (nsAutoId < 0 || !readers.some((r) => r.way === 'event' || r.way === 'scan')) return;
  for (const t of [AUTOID.ScanResult, AUTOID.OpticalScanResult]) {
    await extensionConstructor(session, new NodeId(NodeId.NodeIdType.NUMERIC, t, nsAutoId)).catch(() => undefined);
  }
}

/** Select EventId, EventType, Time, ScanResult, DeviceName (and the PLC's seq); where OfType(scan event). */
export function eventFilter(namespaces: readonly string[], c: OpcuaReaderConfig): EventFilter {
  const nsAutoId = namespaces.indexOf(AUTOID_URI);
  if (nsAutoId < 0) throw new GatewayError('SG_ERR_OPCUA_NODE', `reader ${c.id}: the PLC has no AutoID namespace (${AUTOID_URI})`);
  const qn = (name: string, namespaceIndex: number) => new QualifiedName({ name, namespaceIndex });
  const paths = [qn('EventId', 0), qn('EventType', 0), qn('Time', 0), qn('ScanResult', nsAutoId), qn('DeviceName', nsAutoId)];
  if (c.seqField !== undefined) {
    const ns = namespaces.indexOf(c.seqField.namespaceUri);
    if (ns < 0) throw new GatewayError('SG_ERR_OPCUA_NODE', `reader ${c.id}: seqField namespace ${c.seqField.namespaceUri} is not on the PLC`);
    paths.push(qn(c.seqField.name, ns));
  }
  const typeId = new NodeId(NodeId.NodeIdType.NUMERIC, c.eventType === 'optical' ? AUTOID.OpticalScanEventType : AUTOID.AutoIdScanEventType, nsAutoId);
  return new EventFilter({
    selectClauses: paths.map(
      (p) => new SimpleAttributeOperand({ typeDefinitionId: resolveNodeId('i=2041'), browsePath: [p], attributeId: AttributeIds.Value }),
    ),
    whereClause: new ContentFilter({
      elements: [
        new ContentFilterElement({
          filterOperator: FilterOperator.OfType,
          filterOperands: [new LiteralOperand({ value: new Variant({ dataType: DataType.NodeId, value: typeId }) })],
        }),
      ],
    }),
  });
}

/** node-opcua's dynamic structure constructor for a server-defined DataType (loads its definition once). */
export async function extensionConstructor(session: ClientSession, dataType: NodeId): Promise<new (o: Record<string, unknown>) => unknown> {
  const s = session as unknown as { getExtensionObjectConstructor(id: NodeId): Promise<new (o: Record<string, unknown>) => unknown> };
  return s.getExtensionObjectConstructor(dataType);
}

/** A child of a node by browse name (e.g. the Scan method of an AutoID device). */
async function childNode(session: ClientSession, parent: NodeId, name: string, namespaceIndex: number, missing: string): Promise<NodeId> {
  const r = await session.translateBrowsePath({
    startingNode: parent,
    relativePath: {
      elements: [{ referenceTypeId: resolveNodeId('i=33'), isInverse: false, includeSubtypes: true, targetName: { name, namespaceIndex } }],
    },
  });
  const target = r.targets?.[0]?.targetId;
  if ((r.statusCode.value & 0xc0000000) !== 0 || target === undefined) throw new GatewayError('SG_ERR_OPCUA_NODE', missing);
  return resolveNodeId(target.toString());
}

/** The namespaces our node ids use kept their indexes. */
export function sameUsedNamespaces(before: readonly string[], after: readonly string[], readers: readonly OpcuaReaderConfig[]): boolean {
  const uris = new Set<string>([AUTOID_URI]);
  for (const c of readers) {
    for (const t of [c.device, c.dataNode, c.codeNode, c.counterNode, c.triggerNode, c.decision.node, c.decision.seqNode, c.decision.valueNode, c.decision.reasonCodeNode, c.decision.objectNode, c.decision.methodNode]) {
      if (t === undefined) continue;
      if (t.startsWith('nsu=')) uris.add(t.slice(4, t.indexOf(';')));
      const m = /^ns=(\d+);/.exec(t);
      if (m) {
        const i = Number(m[1]);
        if (before[i] !== after[i]) return false;
      }
    }
    if (c.seqField !== undefined) uris.add(c.seqField.namespaceUri);
  }
  for (const u of uris) if (before.indexOf(u) !== after.indexOf(u)) return false;
  return true;
}
