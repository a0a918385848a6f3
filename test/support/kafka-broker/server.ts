/**
 * The TCP side: size-prefixed frames in, one request at a time per connection (as Kafka
 * does, so responses leave in request order), dispatch to a handler, frames out.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { HANDLERS, type BrokerContext } from './handlers.js';
import { ApiKey, Decoder, SUPPORTED_VERSIONS, readRequestHeader, responseFrame } from './protocol.js';

/** Requests larger than this close the connection (Kafka's socket.request.max.bytes). */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

export type BrokerLog = (message: string) => void;

class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly ctx: BrokerContext,
    private readonly log: BrokerLog,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (size < 0 || size > MAX_REQUEST_BYTES) {
        this.log(`closing connection: request of ${size} bytes`);
        this.socket.destroy();
        return;
      }
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      this.queue = this.queue.then(() => this.handle(frame));
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    if (this.socket.destroyed) return;
    const decoder = new Decoder(frame);
    const header = readRequestHeader(decoder);
    const versions = SUPPORTED_VERSIONS.get(header.apiKey);
    const handler = HANDLERS.get(header.apiKey);
    const supported = versions !== undefined && header.apiVersion >= versions.min && header.apiVersion <= versions.max;
    // An unsupported ApiVersions version is answered (v0 body, UNSUPPORTED_VERSION) so that
    // the client can step down; anything else unsupported closes the connection, as Kafka does.
    if (!handler || (!supported && header.apiKey !== ApiKey.ApiVersions)) {
      this.log(`closing connection: unsupported api ${header.apiKey} v${header.apiVersion}`);
      this.socket.destroy();
      return;
    }
    try {
      const body = await handler(decoder, header, this.ctx);
      if (body !== null && !this.socket.destroyed) this.socket.write(responseFrame(header.correlationId, body));
    } catch (error) {
      this.log(`closing connection: api ${header.apiKey} v${header.apiVersion} failed: ${String(error)}`);
      this.socket.destroy();
    }
  }
}

export interface RunningServer {
  readonly server: Server;
  close(): Promise<void>;
}

export async function listen(
  port: number,
  host: string,
  context: (clientHost: string) => BrokerContext,
  log: BrokerLog,
): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new Connection(socket, context(socket.remoteAddress ?? host), log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
