/**
 * HTTP for operators: /healthz (process alive), /readyz (ready to take reads), /metrics (Prometheus),
 * /api/status (JSON), /api/serials/{gtin}/{serial}.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { listen } from '../net.js';

export interface HttpDeps {
  status: () => unknown;
  ready: () => boolean;
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
        send(res, 500, { error: (err as Error).message });
      });
    });
    this.server = server;
    this.port = await listen(server, this.host, this.wantedPort, 'http.port', 'SCANGATE_HTTP_PORT');
    this.deps.log.info({ host: this.host, port: this.port }, 'HTTP listening');
  }

  private async route(method: string, url: string, res: ServerResponse): Promise<void> {
    if (method !== 'GET') return send(res, 405, { error: 'only GET' });
    const path = url.split('?')[0] ?? '/';
    if (path === '/healthz') return send(res, 200, { ok: true });
    if (path === '/readyz') return this.deps.ready() ? send(res, 200, { ready: true }) : send(res, 503, { ready: false });
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': this.deps.registry.contentType });
      res.end(await this.deps.registry.metrics());
      return;
    }
    if (path === '/api/status') return send(res, 200, this.deps.status());
    const m = /^\/api\/serials\/(\d{14})\/([^/]{1,20})$/.exec(path);
    if (m) {
      const rec = this.deps.lookup(m[1]!, decodeURIComponent(m[2]!));
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

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
