/**
 * HTTP for operators: /healthz (process alive), /readyz (ready to take reads), /metrics (Prometheus),
 * /api/status (JSON), /api/serials/{gtin}/{serial}.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { checkDigitProblem } from '../../gateway/parse/index.js';
import { listen } from '../net.js';

export interface HttpDeps {
  status: () => unknown;
  /** True when reads are taken and decided; else why not (an error code: starting, stopping, reads held). */
  ready: () => true | string;
  lookup: (gtin: string, serial: string) => unknown | undefined;
  registry: Registry;
  log: Logger;
}

export class HttpServer {
  private server: Server | null = null;
  port = 0;
  constructor(
    private readonly host: string,
    private readonly wantedPort: number,
    private readonly deps: HttpDeps,
  ) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.route(req.method ?? 'GET', req.url ?? '/', res).catch((err: unknown) => {
        this.deps.log.error({ code: 'SG_ERR_INTERNAL', url: (req.url ?? '').slice(0, 200), err: (err as Error).message }, 'HTTP request failed');
        send(res, 500, { error: (err as Error).message });
      });
    });
    this.server = server;
    this.port = await listen(server, this.host, this.wantedPort, 'http.port', 'SCANGATE_HTTP_PORT');
    this.deps.log.info({ host: this.host, port: this.port }, 'HTTP listening');
  }

  private async route(method: string, url: string, res: ServerResponse): Promise<void> {
    // HEAD is a GET whose body Node leaves out.
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'only GET (and HEAD)' }, { allow: 'GET, HEAD' });
    const path = url.split('?')[0] ?? '/';
    if (path === '/healthz') return send(res, 200, { ok: true });
    if (path === '/readyz') {
      const r = this.deps.ready();
      return r === true ? send(res, 200, { ready: true }) : send(res, 503, { ready: false, reason: r });
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': this.deps.registry.contentType });
      res.end(await this.deps.registry.metrics());
      return;
    }
    if (path === '/api/status') return send(res, 200, this.deps.status());
    const m = /^\/api\/serials\/([^/]*)\/([^/]*)$/.exec(path);
    if (m) {
      const [gtin, serial] = [m[1]!, decodeOrNull(m[2]!)];
      if (!/^\d{14}$/.test(gtin)) return send(res, 400, { error: `GTIN "${gtin.slice(0, 40)}" must be 14 digits: /api/serials/{gtin}/{serial}` });
      const problem = checkDigitProblem('GTIN', gtin);
      if (problem !== null) return send(res, 400, { error: problem });
      if (serial === null) return send(res, 400, { error: 'the serial is not valid percent-encoding (UTF-8): encode it with encodeURIComponent' });
      if (serial.length < 1 || serial.length > 20) return send(res, 400, { error: `serial must be 1-20 characters (got ${serial.length})` });
      const rec = this.deps.lookup(gtin, serial);
      return rec === undefined ? send(res, 404, { error: 'not in the cache' }) : send(res, 200, rec);
    }
    send(res, 404, { error: 'not found', paths: ['/healthz', '/readyz', '/metrics', '/api/status', '/api/serials/{gtin}/{serial}'] });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function decodeOrNull(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
