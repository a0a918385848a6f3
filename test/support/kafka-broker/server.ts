/**
 * The TCP (or TLS) side: size-prefixed frames in, one request at a time per connection (as
 * Kafka does, so responses leave in request order), the SASL gate, dispatch to an API,
 * frames out. Protocol trouble (unsupported API or version, undecodable request, an error
 * code in a response, failed authentication) goes to the log callback.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { apiVersionsResponse } from './apis/api-versions.js';
import type { ApiSpec, BrokerContext } from './apis/api.js';
import { APIS } from './apis/index.js';
import { describeErrors } from './error-names.js';
import { API_NAMES, ApiKey, ErrorCode, readRequestHeader, responseFrame, type RequestHeader } from './protocol.js';
import { SaslSession, type SaslUsers } from './sasl.js';
import { readMessage, writeMessage } from './schema.js';
import { Reader, Writer } from './wire.js';

/** Requests larger than this close the connection (Kafka's socket.request.max.bytes). */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;
/** What a client may send before it has authenticated. */
const BEFORE_AUTH = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

export type BrokerLog = (message: string) => void;

class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  private queue: Promise<void> = Promise.resolve();
  private readonly sasl: SaslSession;
  private readonly peer: string;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: BrokerContext,
    users: SaslUsers | null,
    private readonly log: BrokerLog,
  ) {
    this.sasl = new SaslSession(users);
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
  }

  private close(reason: string): void {
    this.log(`${this.peer}: closing connection: ${reason}`);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (size < 0 || size > MAX_REQUEST_BYTES) return this.close(`request of ${size} bytes`);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      this.queue = this.queue.then(() => this.handle(frame));
    }
  }

  private send(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  private async handle(frame: Buffer): Promise<void> {
    if (this.socket.destroyed) return;
    if (this.sasl.bareTokens && !this.sasl.open) return this.bareToken(frame);
    const reader = new Reader(frame);
    let header: RequestHeader;
    try {
      header = readRequestHeader(reader);
    } catch (error) {
      return this.close(`undecodable request header: ${String(error)}`);
    }
    const spec = APIS.get(header.apiKey);
    const name = `${API_NAMES.get(header.apiKey) ?? `api ${header.apiKey}`} v${header.apiVersion}`;
    if (!spec) return this.close(`unsupported api ${header.apiKey} v${header.apiVersion}`);
    if (header.apiVersion < spec.min || header.apiVersion > spec.max) {
      if (header.apiKey !== ApiKey.ApiVersions) return this.close(`unsupported version: ${name}`);
      // Answered in v0 so that the client can step down, as Kafka does.
      this.log(`${this.peer}: ${name}: UNSUPPORTED_VERSION (35), answered at v0`);
      const body = writeMessage(spec.response, apiVersionsResponse([...APIS.values()], ErrorCode.UNSUPPORTED_VERSION), 0);
      return this.send(responseFrame(header.correlationId, body, false));
    }
    if (!this.sasl.open && !BEFORE_AUTH.has(header.apiKey)) return this.close(`${name} before SASL authentication`);
    await this.dispatch(spec, header, reader, name);
  }

  private async dispatch(spec: ApiSpec, header: RequestHeader, reader: Reader, name: string): Promise<void> {
    const flexible = header.apiVersion >= spec.request.flexibleFrom;
    let response;
    try {
      if (flexible) reader.skipTags();
      const request = readMessage(reader, spec.request, header.apiVersion);
      response = await spec.handle(request, {
        ...this.ctx,
        version: header.apiVersion,
        clientId: header.clientId ?? '',
        clientHost: this.socket.remoteAddress ?? this.ctx.host,
        sasl: this.sasl,
        log: (message) => this.log(`${this.peer}: ${message}`),
      });
    } catch (error) {
      return this.close(`${name} failed: ${String(error)}`);
    }
    if (response === null) return;
    const errors = describeErrors(response);
    if (errors !== '') this.log(`${this.peer}: ${name}: ${errors}`);
    const headerV1 = flexible && header.apiKey !== ApiKey.ApiVersions;
    this.send(responseFrame(header.correlationId, writeMessage(spec.response, response, header.apiVersion), headerV1));
    if (header.apiKey === ApiKey.SaslAuthenticate && response.ErrorCode !== ErrorCode.NONE) this.close('SASL authentication failed');
  }

  /** SaslHandshake v0: a token is a bare size-prefixed frame, and so is the answer. */
  private bareToken(frame: Buffer): void {
    const step = this.sasl.authenticate(frame);
    if (step.kind === 'failed') return this.close(`SASL ${this.sasl.mechanism ?? ''}: ${step.reason}`);
    this.send(new Writer().bytes(step.bytes, false).toBuffer());
  }
}

export interface RunningServer {
  readonly server: Server;
  close(): Promise<void>;
}

export interface ListenOptions {
  readonly port: number;
  readonly host: string;
  readonly context: BrokerContext | (() => BrokerContext);
  readonly users: SaslUsers | null;
  /** A TLS listener (SSL or SASL_SSL) instead of plain TCP. */
  readonly tls?: TlsOptions;
  readonly log: BrokerLog;
}

export async function listen(options: ListenOptions): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const ctx = typeof options.context === 'function' ? options.context() : options.context;
    new Connection(socket, ctx, options.users, options.log);
  };
  const server = options.tls
    ? createTlsServer(options.tls, onSocket).on('tlsClientError', (error) => options.log(`TLS handshake failed: ${error.message}`))
    : createTcpServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host }, () => {
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
