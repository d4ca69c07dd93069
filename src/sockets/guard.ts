import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { Counter, type Registry } from 'prom-client';
import { classifySocketError, type SocketErrorClass } from './classify.js';

// A pino-compatible logger: each method takes a merge object, then a message.
export type LogFn = (obj: object, msg?: string) => void;
export interface GuardLogger {
  debug?: LogFn;
  info: LogFn;
  error: LogFn;
}

export interface GuardOptions {
  logger?: GuardLogger;
  // When given, errors are counted in enotconn_socket_errors_total{code,kind} on this registry.
  registry?: Registry;
  // Close a connection with no traffic for this long (0 disables). Applied only where the
  // server has no timeout of its own (http: by a sweep per server, not a timer per socket).
  // Why: a paused socket stops reading, so libuv never sees the peer's FIN or RST and the
  // socket stays in CLOSE_WAIT, or open in CLOSE, for ever (nodejs/node#31106,
  // libuv/libuv#3449). Default 120 s, like nginx's client timeouts.
  idleTimeoutMs?: number;
}

export interface GuardedError extends SocketErrorClass {
  remoteAddress: string | null;
  remotePort: number | null;
}

export interface ServerGuard {
  // Errors seen so far, by code and kind.
  counts(): Array<{ code: string; kind: string; count: number }>;
  // The last errors seen (at most 100), newest last.
  recent(): readonly GuardedError[];
  // Remove the guard's listeners (sockets already accepted keep theirs).
  unguard(): void;
}

export const SOCKET_ERRORS_METRIC = 'enotconn_socket_errors_total';
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
const IDLE_CODE = 'ETIMEOUT_IDLE';

type AnyServer = net.Server | http.Server | https.Server | tls.Server;

// Guard a net, tls, http, https or http2 server: every socket error is handled, classified,
// logged at a level that matches its meaning, and counted; idle sockets are closed.
export function guardServer(server: AnyServer, opts: GuardOptions = {}): ServerGuard {
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const counter = opts.registry ? counterOn(opts.registry) : null;
  const counts = new Map<string, { code: string; kind: string; count: number }>();
  const recent: GuardedError[] = [];
  const logger = opts.logger;
  // The peer's address, taken at accept: once a socket is destroyed Node can no longer tell it.
  const peers = new WeakMap<net.Socket, { address: string | null; port: number | null }>();
  const remember = (socket: net.Socket): void => {
    peers.set(socket, { address: socket.remoteAddress ?? null, port: socket.remotePort ?? null });
  };

  const record = (err: unknown, socket: net.Socket | null): void => {
    const c = classifySocketError(err, { side: 'server' });
    const peer = socket ? peers.get(socket) : undefined;
    const g: GuardedError = {
      ...c,
      remoteAddress: peer?.address ?? socket?.remoteAddress ?? null,
      remotePort: peer?.port ?? socket?.remotePort ?? null,
    };
    const key = `${c.code}\u0000${c.kind}`;
    const slot = counts.get(key) ?? { code: c.code, kind: c.kind, count: 0 };
    slot.count++;
    counts.set(key, slot);
    recent.push(g);
    if (recent.length > 100) recent.shift();
    counter?.inc({ code: c.code, kind: c.kind });
    if (logger) log(logger, g);
  };

  const kind = serverKind(server);
  const listeners: Array<[string, (...args: never[]) => void]> = [];
  const on = (event: string, fn: (...args: never[]) => void): void => {
    server.on(event, fn as (...args: unknown[]) => void);
    listeners.push([event, fn]);
  };

  if (kind === 'http1') {
    const s = server as http.Server;
    // Node's http server routes every socket error to 'clientError' (lib/_http_server.js socketOnError).
    on('clientError', (err: Error & { code?: string }, socket: net.Socket) => {
      record(err, socket);
      // Only ours: answer as Node does without listeners (a status for a parse error), then close.
      if (s.listenerCount('clientError') === 1) answerClientError(err, socket);
    });
    // Not server.setTimeout: a socket timer is refreshed on every read and write, a cost per
    // request (3 % of requests/s in bench/guard.ts). One sweep per server costs nothing per request.
    const sweep = idleMs > 0 && s.timeout === 0 ? idleSweep(idleMs, record) : null;
    on('connection', (socket: net.Socket) => {
      remember(socket);
      countIdle(socket, record);
      sweep?.add(socket);
    });
  } else if (kind === 'http2') {
    const s = server as http.Server; // same setTimeout/timeout surface
    on('sessionError', (err: Error) => record(err, null));
    on('stream', (stream: { on(ev: 'error', fn: (e: Error) => void): void }) =>
      stream.on('error', (e) => record(e, null)),
    );
    if (idleMs > 0 && s.timeout === 0) s.setTimeout(idleMs);
  } else {
    // net and tls: nothing handles a socket's 'error', so an unguarded one crashes the process.
    const event = kind === 'tls' ? 'secureConnection' : 'connection';
    on(event, (socket: net.Socket) => {
      remember(socket);
      socket.on('error', (err) => record(err, socket));
      if (idleMs > 0 && !socket.timeout) {
        socket.setTimeout(idleMs);
        socket.on('timeout', () => {
          // Another 'timeout' listener means the application decides; otherwise close it.
          if (socket.listenerCount('timeout') > 1) return;
          record(idleError(idleMs), socket);
          socket.destroy();
        });
      }
    });
  }
  if (kind === 'tls' || kind === 'https' || kind === 'http2') {
    on('tlsClientError', (err: Error, socket: net.Socket) => record(err, socket));
  }

  return {
    counts: () => [...counts.values()].map((x) => ({ ...x })),
    recent: () => recent,
    unguard: () => {
      for (const [event, fn] of listeners) server.removeListener(event, fn as (...args: unknown[]) => void);
      listeners.length = 0;
    },
  };
}

type ServerKind = 'http1' | 'https' | 'http2' | 'tls' | 'net';

function serverKind(server: AnyServer): ServerKind {
  const name = server.constructor.name;
  if (name === 'Http2Server' || name === 'Http2SecureServer') return 'http2';
  if (server instanceof https.Server) return 'https';
  if (server instanceof http.Server) return 'http1';
  if (server instanceof tls.Server) return 'tls';
  return 'net';
}

function counterOn(registry: Registry): Counter<'code' | 'kind'> {
  const existing = registry.getSingleMetric(SOCKET_ERRORS_METRIC);
  if (existing) return existing as Counter<'code' | 'kind'>;
  return new Counter({
    name: SOCKET_ERRORS_METRIC,
    help: 'Socket errors seen by guarded servers, by code and kind (enotconn/sockets)',
    labelNames: ['code', 'kind'],
    registers: [registry],
  });
}

// Benign peer behaviour at debug (resets, closes) or info (timeouts, TLS, bad requests), faults at error.
function log(logger: GuardLogger, g: GuardedError): void {
  const obj = {
    code: g.code,
    syscall: g.syscall,
    kind: g.kind,
    benign: g.benign,
    remoteAddress: g.remoteAddress,
    remotePort: g.remotePort,
  };
  if (!g.benign) logger.error(obj, g.summary);
  else if (['peer-reset', 'peer-closed', 'not-connected', 'aborted'].includes(g.kind))
    (logger.debug ?? logger.info).call(logger, obj, g.summary);
  else logger.info(obj, g.summary);
}

function idleError(ms: number): Error & { code: string } {
  return Object.assign(new Error(`no traffic for ${ms} ms; closed by the guard`), { code: IDLE_CODE });
}

// http: close sockets with no traffic for idleMs, by one unref'd interval per server (period
// idleMs/2) that compares bytesRead + bytesWritten between sweeps. A socket with a timeout of its
// own (the application's, or Node's keepAliveTimeout between requests) is left to that timeout.
function idleSweep(
  idleMs: number,
  record: (err: unknown, socket: net.Socket | null) => void,
): { add(socket: net.Socket): void } {
  // Per socket: the byte count last seen, and since when it has not changed.
  const sockets = new Map<net.Socket, { bytes: number; since: number }>();
  let timer: NodeJS.Timeout | null = null;
  const tick = (): void => {
    if (sockets.size === 0) {
      // Stopped when nothing is left, so a closed server leaves no interval behind.
      if (timer) clearInterval(timer);
      timer = null;
      return;
    }
    const now = Date.now();
    for (const [socket, seen] of sockets) {
      const bytes = socket.bytesRead + socket.bytesWritten;
      if (bytes !== seen.bytes || socket.timeout || socket.destroyed) {
        seen.bytes = bytes;
        seen.since = now;
      } else if (now - seen.since >= idleMs) {
        sockets.delete(socket);
        record(idleError(idleMs), socket);
        socket.destroy();
      }
    }
  };
  return {
    add(socket) {
      sockets.set(socket, { bytes: socket.bytesRead + socket.bytesWritten, since: Date.now() });
      socket.once('close', () => sockets.delete(socket));
      if (!timer) {
        timer = setInterval(tick, Math.max(1, Math.ceil(idleMs / 2)));
        timer.unref();
      }
    },
  };
}

// http: Node's own timeout handler closes the socket; count it when it did.
function countIdle(socket: net.Socket, record: (err: unknown, socket: net.Socket | null) => void): void {
  socket.on('timeout', () =>
    setImmediate(() => {
      if (socket.destroyed) record(idleError(socket.timeout ?? 0), socket);
    }),
  );
}

const STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Payload Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

// What Node's http server does for a client error when nobody listens: a status line for a
// request it could not parse, and nothing for a connection that is already broken.
function answerClientError(err: Error & { code?: string }, socket: net.Socket): void {
  const code = err.code ?? '';
  const status = STATUS[code] ?? (code.startsWith('HPE_') ? ([400, 'Bad Request'] as [number, string]) : null);
  if (status && socket.writable && socket.bytesWritten === 0) {
    socket.write(`HTTP/1.1 ${status[0]} ${status[1]}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy();
}
