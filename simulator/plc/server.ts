/**
 * The virtual PLC: a node-opcua server that models a line. Each reader is an AutoID OpticalReaderDeviceType
 * (OPC 30010) that raises scan events, answers Scan, and exposes the read as a `{seq, code, ts}` structure and as
 * the simple LastScanData + counter pair; next to it sit the decision nodes the gateway writes back to (one
 * structure, or three separate nodes, or a method). The server can be stopped and started again on the same port
 * while the line keeps producing reads, as a PLC does when its OPC UA server restarts.
 *
 * Node ids (namespace PLC_NAMESPACE_URI, string ids), for reader `R1` on line `L1`:
 *   L1.R1                 the device (events: LineScanEventType, a concrete OpticalScanEventType; method Scan)
 *   L1.R1.ScanRead        {Seq, Code, Ts} (ScanReadDataType), written for every read
 *   L1.R1.ScanCount       UInt32 counter, written after LastScanData (the device's AutoID LastScanData)
 *   L1.R1.Trigger         UInt32, the seq of the product now in front of a triggered reader (way `scan`)
 *   L1.R1.Decision        {Seq, Decision, ReasonCode} (DecisionDataType), written by the gateway
 *   L1.R1.DecisionValue / L1.R1.DecisionReason / L1.R1.DecisionSeq   the same as three nodes, Seq last
 *   L1.R1.SetDecision     method (Seq UInt32, Decision UInt16, ReasonCode UInt16)
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  Subscription,
  Variant,
  VariantArrayType,
  nodesets,
  type AddressSpace,
  type Namespace,
  type UADataType,
  type UAMethod,
  type UAObject,
  type UAObjectType,
  type UAVariable,
} from 'node-opcua';
import { AUTOID_URI, LINE_NODESET_XML, LINE_TYPES_URI } from './nodeset.js';
import { LineModel, type LineReaderSpec, type ReadRecord, type ReaderState } from './line.js';

/** Namespace of the virtual PLC's instances (readers, decision nodes). */
export const PLC_NAMESPACE_URI = 'urn:scangate:virtual-plc';

export type SecurityModeName = 'None' | 'Sign' | 'SignAndEncrypt';
export type SecurityPolicyName = 'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss';

export interface VirtualPlcOptions {
  /** PKI folder of the server (own certificate, trusted and rejected client certificates). */
  pkiDir: string;
  /** TCP port; 0 picks a free one at the first start and keeps it across restarts. */
  port?: number;
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Line id used in node ids; default L1. */
  line?: string;
  /** Readers: a count (R1..Rn, every way in) or their specs; default 1. */
  readers?: number | readonly LineReaderSpec[];
  /** Codes the readers read, in turn. */
  population: readonly string[];
  /** Security modes offered; default all three. */
  securityModes?: readonly SecurityModeName[];
  /** Security policies offered; default None and the three RSA-OAEP/PSS ones (no PKCS#1 v1.5 policy). */
  securityPolicies?: readonly SecurityPolicyName[];
  /** Users accepted; when given, anonymous sessions are refused. */
  users?: readonly { username: string; password: string }[];
  /** Accept any client certificate (default true); false: only those in {pkiDir}/trusted/certs. */
  trustAllClients?: boolean;
  /** Fastest publishing interval the server grants, in ms; default 10. */
  minPublishingIntervalMs?: number;
}

interface ReaderNodes {
  device: UAObject;
  scanRead: UAVariable;
  lastScanData: UAVariable | null;
  scanCount: UAVariable;
  trigger: UAVariable;
  /** Decision written as three nodes: the value and reason wait for the seq. */
  pendingValue: number;
  pendingReason: number;
  /** The read variables are deleted (redefineReader): reads are shown nowhere. */
  down: boolean;
}

interface Types {
  as: AddressSpace;
  ns: Namespace;
  scanRead: UADataType;
  decision: UADataType;
  opticalScanResult: UADataType;
  scanEvent: UAObjectType;
  readerType: UAObjectType;
  nsAutoId: number;
}

const MODE: Record<SecurityModeName, MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};
const POLICY: Record<SecurityPolicyName, SecurityPolicy> = {
  None: SecurityPolicy.None,
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

/** AutoIdOperationStatusEnumeration (OPC 30010 9.1.1). */
const AUTOID_SUCCESS = 0;
const AUTOID_NO_IDENTIFIER = 8;
/** Reads kept waiting for a Scan call per reader. */
const MAX_PENDING_SCANS = 1000;

export class VirtualPlc {
  readonly line: LineModel;
  private readonly opts: VirtualPlcOptions;
  private server: OPCUAServer | null = null;
  private nodes: ReaderNodes[] = [];
  private types: Types | null = null;
  private portInUse: number;
  private readonly host: string;
  /** Times the server was started. */
  starts = 0;
  /** Readers whose Scan calls answer this AutoID Status and no result (failScans). */
  private readonly scanFault = new Map<string, number>();
  /** Readers whose Scan calls hang until released (holdScans). */
  private readonly scanHold = new Map<string, { held: Promise<void>; release: () => void }>();

  constructor(opts: VirtualPlcOptions) {
    this.opts = opts;
    const line = opts.line ?? 'L1';
    const readers = typeof opts.readers === 'object' ? opts.readers : Array.from({ length: opts.readers ?? 1 }, (_, i) => ({ id: `R${i + 1}` }));
    this.line = new LineModel({ line, readers, population: opts.population });
    this.portInUse = opts.port ?? 0;
    this.host = opts.host ?? '127.0.0.1';
  }

  get port(): number {
    return this.portInUse;
  }

  get endpointUrl(): string {
    return `opc.tcp://${this.host}:${this.portInUse}`;
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** The server's own certificate (PEM), to put in a client's trust list. */
  get certificateFile(): string {
    return join(this.opts.pkiDir, 'own', 'certs', 'certificate.pem');
  }

  /** `nsu=...;s=...` node id of a reader's node (see the module comment for the names). */
  nodeId(reader: string, name = ''): string {
    return `nsu=${PLC_NAMESPACE_URI};s=${this.line.line}.${reader}${name === '' ? '' : `.${name}`}`;
  }

  /** Start (or start again) the OPC UA server on the same port, with the line's current state. */
  async start(): Promise<void> {
    const server = await this.prepare();
    await this.listen(server);
  }

  /** Stop the OPC UA server; the line goes on producing reads, which nobody receives. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.line.online = false;
    this.line.onRead = null;
    for (const h of this.scanHold.values()) h.release();
    this.scanHold.clear();
    this.nodes = [];
    this.types = null;
    if (server !== null) await server.shutdown(0);
  }

  /** Stop, stay down `downMs` (the next server is loaded meanwhile), start on the same port. */
  async restart(downMs: number): Promise<void> {
    await this.stop();
    const until = Date.now() + downMs;
    const next = await this.prepare();
    const left = until - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    await this.listen(next);
  }

  /** Stop the server and the line for good. */
  async close(): Promise<void> {
    this.line.stopGeneration();
    await this.stop();
  }

  private async prepare(): Promise<OPCUAServer> {
    // A PLC serves its reads exception-based, every change, at a publishing interval below its cycle time.
    Subscription.minimumPublishingInterval = this.opts.minPublishingIntervalMs ?? 10;
    const pki = this.opts.pkiDir;
    mkdirSync(pki, { recursive: true });
    const serverCertificateManager = new OPCUACertificateManager({
      rootFolder: pki,
      automaticallyAcceptUnknownCertificate: this.opts.trustAllClients ?? true,
      disableFileWatchers: true,
    });
    const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(pki, 'user'), disableFileWatchers: true });
    const users = this.opts.users;
    const server = new OPCUAServer({
      port: this.portInUse,
      host: this.host,
      // Advertise the address clients use (not the machine name), unless listening on every interface.
      ...(this.host !== '0.0.0.0' && this.host !== '::' ? { hostname: this.host } : {}),
      nodesets: [nodesets.standard, nodesets.di, nodesets.autoId, { name: 'scangate-line', source: LINE_NODESET_XML }],
      serverCertificateManager,
      userCertificateManager,
      securityModes: (this.opts.securityModes ?? ['None', 'Sign', 'SignAndEncrypt']).map((m) => MODE[m]),
      securityPolicies: (this.opts.securityPolicies ?? ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).map((p) => POLICY[p]),
      allowAnonymous: users === undefined,
      ...(users !== undefined ? { userManager: { isValidUser: (u: string, p: string) => users.some((x) => x.username === u && x.password === p) } } : {}),
      serverCapabilities: { minSupportedSampleRate: 0, maxSessions: 50 },
      maxConnectionsPerEndpoint: 50,
      isAuditing: false,
      serverInfo: { applicationUri: PLC_NAMESPACE_URI, productUri: PLC_NAMESPACE_URI, applicationName: { text: 'scangate virtual PLC' } },
      buildInfo: { productName: 'scangate virtual PLC', manufacturerName: 'scangate' },
    });
    await server.initialize();
    return server;
  }

  private async listen(server: OPCUAServer): Promise<void> {
    this.build(server);
    await server.start();
    const port = server.endpoints[0]?.port;
    if (typeof port === 'number' && port > 0) this.portInUse = port;
    this.server = server;
    this.starts++;
    this.line.online = true;
    this.line.onRead = (r, rec) => this.publish(r, rec);
  }

  private build(server: OPCUAServer): void {
    const as = server.engine.addressSpace;
    if (as === null) throw new Error('the address space is not loaded');
    const nsAutoId = as.getNamespaceIndex(AUTOID_URI);
    const nsLine = as.getNamespaceIndex(LINE_TYPES_URI);
    const ns = as.registerNamespace(PLC_NAMESPACE_URI);
    const need = <T>(x: T | null | undefined, what: string): T => {
      if (x === null || x === undefined) throw new Error(`the virtual PLC's information model has no ${what}`);
      return x;
    };
    const types: Types = {
      as,
      ns,
      nsAutoId,
      scanRead: need(as.findDataType('ScanReadDataType', nsLine), 'ScanReadDataType'),
      decision: need(as.findDataType('DecisionDataType', nsLine), 'DecisionDataType'),
      opticalScanResult: need(as.findDataType('OpticalScanResult', nsAutoId), 'OpticalScanResult'),
      scanEvent: need(as.findEventType('LineScanEventType', nsLine), 'LineScanEventType'),
      readerType: need(as.findObjectType('OpticalReaderDeviceType', nsAutoId), 'OpticalReaderDeviceType'),
    };
    this.types = types;
    const nsDi = as.getNamespaceIndex('http://opcfoundation.org/UA/DI/');
    const objects = as.rootFolder.objects;
    const deviceSet = (objects.getFolderElementByName('DeviceSet', nsDi) as UAObject | null) ?? objects;
    this.nodes = this.line.readers.map((r) => this.buildReader(types, deviceSet, r));
  }

  private buildReader(t: Types, parent: UAObject, r: ReaderState): ReaderNodes {
    const { ns, as } = t;
    const base = `${this.line.line}.${r.id}`;
    const id = (name: string) => `ns=${ns.index};s=${base}.${name}`;
    const qn = (name: string) => ({ name, namespaceIndex: ns.index });
    const device = t.readerType.instantiate({
      browseName: qn(r.id),
      nodeId: `ns=${ns.index};s=${base}`,
      organizedBy: parent,
      optionals: ['LastScanData', 'Scan'],
      eventNotifier: 1,
    }) as UAObject;
    const deviceName = device.getPropertyByName('DeviceName', t.nsAutoId);
    deviceName?.setValueFromSource({ dataType: DataType.String, value: r.id });
    const deviceStatus = device.getComponentByName('DeviceStatus', t.nsAutoId) as UAVariable | null;
    deviceStatus?.setValueFromSource({ dataType: DataType.Int32, value: 0 }); // Idle

    const last = r.records[r.records.length - 1];
    const lastScanData = device.getComponentByName('LastScanData', t.nsAutoId) as UAVariable | null;
    lastScanData?.setValueFromSource({ dataType: DataType.String, value: last?.code ?? '' });
    const nodes: ReaderNodes = { device, ...this.addReadVariables(t, device, r), lastScanData, pendingValue: 0, pendingReason: 0, down: false };

    // The decision as one structure.
    const decision = ns.addVariable({
      componentOf: device,
      browseName: qn('Decision'),
      nodeId: id('Decision'),
      dataType: t.decision,
      accessLevel: 'CurrentRead | CurrentWrite',
      userAccessLevel: 'CurrentRead | CurrentWrite',
      minimumSamplingInterval: 0,
    });
    let lastDecision = as.constructExtensionObject(t.decision, { seq: 0, decision: 0, reasonCode: 0 });
    decision.bindVariable(
      {
        get: () => new Variant({ dataType: DataType.ExtensionObject, value: lastDecision }),
        set: (v: Variant) => {
          const d = v.value as { seq?: unknown; decision?: unknown; reasonCode?: unknown } | null;
          if (d === null || typeof d.seq !== 'number') return StatusCodes.BadTypeMismatch;
          lastDecision = v.value;
          this.line.recordDecision(r, d.seq, Number(d.decision), Number(d.reasonCode), 'structure');
          return StatusCodes.Good;
        },
      },
      true,
    );

    // The decision as three nodes; the seq is written last and completes it.
    const uint = (name: string, dataType: 'UInt16' | 'UInt32', onSet: (n: number) => void) => {
      let value = 0;
      ns.addVariable({
        componentOf: device,
        browseName: qn(name),
        nodeId: id(name),
        dataType,
        accessLevel: 'CurrentRead | CurrentWrite',
        userAccessLevel: 'CurrentRead | CurrentWrite',
        minimumSamplingInterval: 0,
      }).bindVariable(
        {
          get: () => new Variant({ dataType: DataType[dataType], value }),
          set: (v: Variant) => {
            if (typeof v.value !== 'number') return StatusCodes.BadTypeMismatch;
            value = v.value;
            onSet(value);
            return StatusCodes.Good;
          },
        },
        true,
      );
    };
    uint('DecisionValue', 'UInt16', (n) => (nodes.pendingValue = n));
    uint('DecisionReason', 'UInt16', (n) => (nodes.pendingReason = n));
    uint('DecisionSeq', 'UInt32', (n) => this.line.recordDecision(r, n, nodes.pendingValue, nodes.pendingReason, 'nodes'));

    // The decision as a method call.
    const method = ns.addMethod(device, {
      browseName: qn('SetDecision'),
      nodeId: id('SetDecision'),
      inputArguments: [
        { name: 'Seq', dataType: DataType.UInt32 },
        { name: 'Decision', dataType: DataType.UInt16 },
        { name: 'ReasonCode', dataType: DataType.UInt16 },
      ],
      outputArguments: [],
    });
    // node-opcua tells a promise method from a callback one by its arity: keep both parameters.
    method.bindMethod(async (args: Variant[], _context: unknown) => {
      const [seq, value, reason] = args.map((a) => Number(a.value));
      this.line.recordDecision(r, seq ?? 0, value ?? 0, reason ?? 0, 'method');
      return { statusCode: StatusCodes.Good, outputArguments: [] };
    });

    // AutoID Scan (OPC 30010 6.3.2): what is in front of the reader now, i.e. the latest triggered read.
    const scan = device.getMethodByName('Scan', t.nsAutoId) as UAMethod | null;
    scan?.bindMethod(async (_args: Variant[], _context: unknown) => {
      await this.scanHold.get(r.id)?.held;
      const fault = this.scanFault.get(r.id);
      if (fault !== undefined) {
        return {
          statusCode: StatusCodes.Good,
          outputArguments: [
            { dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [] },
            { dataType: DataType.Int32, value: fault },
          ],
        };
      }
      const rec = r.pendingScans.pop();
      r.pendingScans.length = 0;
      const results = rec === undefined ? [] : [this.scanResult(t, rec)];
      return {
        statusCode: StatusCodes.Good,
        outputArguments: [
          { dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: results },
          { dataType: DataType.Int32, value: rec === undefined ? AUTOID_NO_IDENTIFIER : AUTOID_SUCCESS },
        ],
      };
    });
    return nodes;
  }

  /** The variables a reader's reads show in (ScanRead, ScanCount, Trigger), holding the line's current state. */
  private addReadVariables(t: Types, device: UAObject, r: ReaderState): Pick<ReaderNodes, 'scanRead' | 'scanCount' | 'trigger'> {
    const { ns } = t;
    const id = (name: string) => `ns=${ns.index};s=${this.line.line}.${r.id}.${name}`;
    const qn = (name: string) => ({ name, namespaceIndex: ns.index });
    const last = r.records[r.records.length - 1];
    const scanRead = ns.addVariable({ componentOf: device, browseName: qn('ScanRead'), nodeId: id('ScanRead'), dataType: t.scanRead, minimumSamplingInterval: 0 });
    scanRead.setValueFromSource({ dataType: DataType.ExtensionObject, value: this.readStruct(t, last) });
    // The PLC's own counter: clients read it, only the PLC writes it.
    const scanCount = ns.addVariable({ componentOf: device, browseName: qn('ScanCount'), nodeId: id('ScanCount'), dataType: 'UInt32', accessLevel: 'CurrentRead', userAccessLevel: 'CurrentRead', minimumSamplingInterval: 0 });
    scanCount.setValueFromSource({ dataType: DataType.UInt32, value: last?.seq ?? 0 });
    const trigger = ns.addVariable({ componentOf: device, browseName: qn('Trigger'), nodeId: id('Trigger'), dataType: 'UInt32', minimumSamplingInterval: 0 });
    trigger.setValueFromSource({ dataType: DataType.UInt32, value: last?.seq ?? 0 });
    return { scanRead, scanCount, trigger };
  }

  /**
   * A program download on the PLC (tests): the reader's read variables (ScanRead, ScanCount, Trigger) are deleted,
   * and `downMs` later created again under the same node ids, holding the line's state by then. Reads the line
   * makes meanwhile are shown nowhere (the first one shown after it follows a gap).
   */
  async redefineReader(reader: string, downMs: number): Promise<void> {
    const t = this.types;
    const r = this.line.reader(reader);
    const n = this.nodes[r.index];
    if (t === null || n === undefined) throw new Error('the virtual PLC is not running');
    n.down = true;
    for (const v of [n.scanRead, n.scanCount, n.trigger]) t.as.deleteNode(v);
    await new Promise((resolve) => setTimeout(resolve, downMs));
    if (this.types !== t) return; // stopped meanwhile: the next start builds them
    Object.assign(n, this.addReadVariables(t, n.device, r));
    n.down = false;
  }

  /**
   * A Scan method that hangs (tests): Scan calls on this reader do not answer until the returned function is
   * called (or the server stops); then they answer as usual.
   */
  /**
   * A reader that fails (tests): its Scan calls answer Good with no result and this AutoID Status (e.g. 20,
   * DEVICE_FAULT) until the returned function is called.
   */
  failScans(reader: string, status: number): () => void {
    this.scanFault.set(reader, status);
    return () => void this.scanFault.delete(reader);
  }

  holdScans(reader: string): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const h = { held, release };
    this.scanHold.set(reader, h);
    return () => {
      if (this.scanHold.get(reader) === h) this.scanHold.delete(reader);
      release();
    };
  }

  /** A reader's read variable as the server holds it now, to set odd values or statuses on (tests). */
  readVariable(reader: string, name: 'ScanRead' | 'ScanCount' | 'Trigger'): UAVariable {
    const n = this.nodes[this.line.reader(reader).index];
    if (n === undefined) throw new Error('the virtual PLC is not running');
    return name === 'ScanRead' ? n.scanRead : name === 'ScanCount' ? n.scanCount : n.trigger;
  }

  private readStruct(t: Types, rec: ReadRecord | undefined) {
    // seq 0 means "no read yet": readers count from 1.
    return t.as.constructExtensionObject(t.scanRead, rec === undefined ? { seq: 0, code: '', ts: new Date(0) } : { seq: rec.seq, code: rec.code, ts: new Date(rec.atMs) });
  }

  private scanResult(t: Types, rec: ReadRecord) {
    return t.as.constructExtensionObject(t.opticalScanResult, { codeType: 'RAW:STRING', scanData: { string: rec.code }, timestamp: new Date(rec.atMs) });
  }

  /** A read happened on the line: show it every way the reader offers. */
  private publish(r: ReaderState, rec: ReadRecord): void {
    const t = this.types;
    const n = this.nodes[r.index];
    if (t === null || n === undefined || n.down) return;
    if (r.ways.has('data')) n.scanRead.setValueFromSource({ dataType: DataType.ExtensionObject, value: this.readStruct(t, rec) });
    if (r.ways.has('counter')) {
      // Code first, then the counter: a client that reads the code on a counter change sees this code or a newer one.
      n.lastScanData?.setValueFromSource({ dataType: DataType.String, value: rec.code });
      n.scanCount.setValueFromSource({ dataType: DataType.UInt32, value: rec.seq });
    }
    if (r.ways.has('scan')) {
      if (r.pendingScans.length > MAX_PENDING_SCANS) r.pendingScans.splice(0, r.pendingScans.length - MAX_PENDING_SCANS);
      n.trigger.setValueFromSource({ dataType: DataType.UInt32, value: rec.seq });
    }
    if (r.ways.has('event')) {
      n.device.raiseEvent(t.scanEvent, {
        scanResult: { dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [this.scanResult(t, rec)] },
        deviceName: { dataType: DataType.String, value: r.id },
        seq: { dataType: DataType.UInt32, value: rec.seq },
        message: { dataType: DataType.LocalizedText, value: { text: 'scan' } },
        severity: { dataType: DataType.UInt16, value: 100 },
      });
    }
  }
}
