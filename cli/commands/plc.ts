/**
 * `scangate plc`: run the virtual PLC by hand (a node-opcua server modelling a line of AutoID readers) and print
 * what a gateway needs to read from it. Stops on SIGINT/SIGTERM and prints the decisions it received.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '../args.js';
import { GatewayError } from '../../gateway/errors.js';
import { gs1CheckDigit } from '../../gateway/parse/index.js';

const USAGE = `usage: scangate plc [--port N] [--host H] [--readers N] [--rate R] [--serials N] [--gtin GTIN]
                    [--security None|Sign|SignAndEncrypt,...] [--user NAME:PASSWORD] [--pki DIR] [--csv FILE]
  Runs a virtual PLC on opc.tcp://H:N (default 127.0.0.1:4840) with N readers (R1..Rn, default 2) on line L1.
  --rate R     reads per second per reader (default 1; 0: none)
  --serials N  the codes read: serials B1..BN of --gtin (default 1000, GTIN 09520123456788, lot LOT1, expiry 2030-12-31)
  --csv FILE   write those serials as a CSV for \`scangate import\`
  --pki DIR    the server's certificates (default: a new temp dir); its certificate is DIR/own/certs/certificate.pem
`;

export default async function plc(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      readers: { type: 'string' },
      rate: { type: 'string' },
      serials: { type: 'string' },
      gtin: { type: 'string' },
      security: { type: 'string' },
      user: { type: 'string' },
      pki: { type: 'string' },
      csv: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const num = (v: unknown, name: string, dflt: number, min: number) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new GatewayError('SG_ERR_USAGE', `--${name} must be a number >= ${min}\n${USAGE}`);
    return n;
  };
  const port = num(values.port, 'port', 4840, 0);
  const readers = num(values.readers, 'readers', 2, 1);
  const rate = num(values.rate, 'rate', 1, 0);
  const serials = num(values.serials, 'serials', 1000, 1);
  const gtin = (values.gtin as string | undefined) ?? '09520123456788';
  if (!/^\d{14}$/.test(gtin) || String(gs1CheckDigit(gtin.slice(0, 13))) !== gtin.slice(13)) throw new GatewayError('SG_ERR_USAGE', `--gtin ${gtin} is not a valid GTIN-14`);
  const modes = ((values.security as string | undefined) ?? 'None,Sign,SignAndEncrypt').split(',').map((s) => s.trim());
  for (const m of modes) if (!['None', 'Sign', 'SignAndEncrypt'].includes(m)) throw new GatewayError('SG_ERR_USAGE', `--security: unknown mode ${m}\n${USAGE}`);
  let users: { username: string; password: string }[] | undefined;
  if (values.user !== undefined) {
    const [username, ...rest] = (values.user as string).split(':');
    if (!username || rest.length === 0) throw new GatewayError('SG_ERR_USAGE', `--user takes NAME:PASSWORD\n${USAGE}`);
    users = [{ username, password: rest.join(':') }];
  }
  const population = Array.from({ length: serials }, (_, i) => `]d201${gtin}17301231` + `10LOT1\u001d21B${i + 1}`);
  if (values.csv !== undefined) {
    writeFileSync(values.csv as string, ['gtin,serial,lot,expiry,status', ...population.map((_, i) => `${gtin},B${i + 1},LOT1,2030-12-31,RECEIVED`)].join('\n') + '\n');
  }

  // Loaded here: node-opcua takes seconds to load and only this verb needs the server side.
  const { VirtualPlc, PLC_NAMESPACE_URI } = await import('../../simulator/plc/index.js');
  const pkiDir = (values.pki as string | undefined) ?? mkdtempSync(join(tmpdir(), 'scangate-plc-'));
  const v = new VirtualPlc({
    pkiDir,
    port,
    host: (values.host as string | undefined) ?? '127.0.0.1',
    readers,
    population,
    securityModes: modes as ('None' | 'Sign' | 'SignAndEncrypt')[],
    ...(users !== undefined ? { users } : {}),
  });
  await v.start();
  const out = process.stdout;
  out.write(`virtual PLC listening on ${v.endpointUrl} (security ${modes.join(', ')}${users ? `, user ${users[0]!.username}` : ', anonymous'})\n`);
  out.write(`certificate: ${v.certificateFile}\n`);
  out.write(`namespace: ${PLC_NAMESPACE_URI}; reader R1: device ${v.nodeId('R1')}, data ${v.nodeId('R1', 'ScanRead')}, decision ${v.nodeId('R1', 'Decision')}\n`);
  out.write(`an opcua section for scangate.yaml (security None):\n`);
  out.write(
    [
      'opcua:',
      '  enabled: true',
      '  endpoints:',
      `    - { id: plc1, url: "${v.endpointUrl}", securityMode: None, securityPolicy: None, readers: [`,
      ...v.line.readers.map(
        (r) => `        { id: ${r.id}, line: L1, station: pack, way: data, dataNode: "${v.nodeId(r.id, 'ScanRead')}", decision: { mode: structure, node: "${v.nodeId(r.id, 'Decision')}" } },`,
      ),
      '      ] }',
      '',
    ].join('\n'),
  );
  v.line.startGeneration(rate);
  const timer = setInterval(() => {
    const s = v.line.stats();
    process.stderr.write(`reads ${s.produced}, decided ${s.decided} (accepted ${s.accepted}, rejected ${s.rejected}), undecided ${s.undecided}, latency p50 ${s.latencyMs.p50} ms p99 ${s.latencyMs.p99} ms\n`);
  }, 5_000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
  await v.close();
  out.write(`${JSON.stringify(v.line.stats())}\n`);
  return 0;
}
