/**
 * MQTT over WebSocket for the embedded broker (HMIs and browser dashboards): an HTTP(S) server that upgrades
 * requests on `mqtt.websocket.path` and hands each WebSocket, as a byte stream, to the broker.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { listen } from '../net.js';
import type { TlsMaterial } from './tls.js';

export interface WebSocketListenerOptions {
  host: string;
  port: number;
  path: string;
  maxPacketBytes: number;
  tls: TlsMaterial | null;
}

export class WebSocketListener {
  private server: HttpServer | null = null;
  private wss: WebSocketServer | null = null;
  port = 0;

  constructor(
    private readonly opts: WebSocketListenerOptions,
    /** Admission of a new TCP connection: false closes it at once (limits). */
    private readonly admit: (socket: Socket) => boolean,
    private readonly handle: (stream: Duplex, req: IncomingMessage) => void,
  ) {}

  async start(): Promise<number> {
    const onRequest = (_req: IncomingMessage, res: import('node:http').ServerResponse) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end(`MQTT over WebSocket: connect to ${this.opts.path} with the "mqtt" subprotocol\n`);
    };
    const server: HttpServer = this.opts.tls !== null ? (createHttpsServer({ ...this.opts.tls }, onRequest) as unknown as HttpServer) : createHttpServer(onRequest);
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) socket.destroy();
    });
    const wss = new WebSocketServer({
      server,
      path: this.opts.path,
      // A frame may hold one MQTT packet of the largest size allowed, plus its header.
      maxPayload: this.opts.maxPacketBytes + 8,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
      perMessageDeflate: false,
    });
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => stream.destroy());
      this.handle(stream, req);
    });
    this.server = server;
    this.wss = wss;
    this.port = await listen(server as unknown as import('node:net').Server, this.opts.host, this.opts.port, 'mqtt.websocket.port', 'SCANGATE_MQTT_WEBSOCKET_PORT');
    return this.port;
  }

  stopListening(): void {
    this.server?.close();
  }

  async close(): Promise<void> {
    const wss = this.wss;
    this.wss = null;
    if (wss !== null) {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
    const server = this.server;
    this.server = null;
    if (server !== null) {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
