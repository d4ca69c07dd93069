// Helpers shared by the lab scenarios: real sockets on 127.0.0.1, and waits that never hang.
import net from 'node:net';
import type { Observation } from './types.js';

// Resolve after `ms` milliseconds.
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface CodedError {
  code?: unknown;
  syscall?: unknown;
}

const codeOf = (e: unknown): string | null =>
  typeof (e as CodedError | null)?.code === 'string' ? ((e as CodedError).code as string) : null;
const syscallOf = (e: unknown): string | null =>
  typeof (e as CodedError | null)?.syscall === 'string' ? ((e as CodedError).syscall as string) : null;

// An observation from an event and its error (if any).
export function observed(op: string, event: string, err?: unknown, detail?: string): Observation {
  return {
    op,
    event,
    code: err === undefined ? null : codeOf(err),
    syscall: err === undefined ? null : syscallOf(err),
    ...(detail !== undefined ? { detail } : {}),
  };
}

// Listen on 127.0.0.1 (or `host`) on a free port.
export function listen(server: net.Server, host = '127.0.0.1', port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

// Close a server and resolve once it has closed, whether or not it was listening.
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

// The first of `events` on `emitter`, or 'none' after `ms`.
export function firstEvent(
  emitter: NodeJS.EventEmitter,
  events: readonly string[],
  ms: number,
): Promise<{ event: string; arg?: unknown }> {
  return new Promise((resolve) => {
    const handlers = new Map<string, (arg?: unknown) => void>();
    const done = (event: string, arg?: unknown): void => {
      clearTimeout(timer);
      for (const [ev, fn] of handlers) emitter.off(ev, fn);
      resolve(arg === undefined ? { event } : { event, arg });
    };
    for (const ev of events) {
      const fn = (arg?: unknown): void => done(ev, arg);
      handlers.set(ev, fn);
      emitter.on(ev, fn);
    }
    const timer = setTimeout(() => done('none'), ms);
  });
}

// Wait for an event and turn it into an observation (the error's code and syscall when it is 'error').
export async function observeEvent(
  op: string,
  emitter: NodeJS.EventEmitter,
  events: readonly string[],
  ms: number,
  opts: { timed?: boolean } = {},
): Promise<Observation> {
  const t0 = performance.now();
  const r = await firstEvent(emitter, events, ms);
  const detail = opts.timed ? `after ${((performance.now() - t0) / 1000).toFixed(1)} s` : undefined;
  return r.event === 'error' ? observed(op, 'error', r.arg, detail) : observed(op, r.event, undefined, detail);
}

// socket.write and what came of it: 'error' (the event), 'write-cb' (only the callback had an
// error), or 'written' (the kernel took the bytes).
export function observeWrite(op: string, socket: net.Socket, data: string | Buffer, ms = 1000): Promise<Observation> {
  return new Promise((resolve) => {
    let cbErr: unknown = undefined;
    let settled = false;
    const finish = (o: Observation): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(o);
    };
    const onError = (e: unknown): void => finish(observed(op, 'error', e));
    socket.on('error', onError);
    const timer = setTimeout(() => finish(observed(op, 'none')), ms);
    socket.write(data, (e) => {
      cbErr = e ?? undefined;
      // Let a pending 'error' event win: it is what an application without a callback sees.
      setImmediate(() => finish(cbErr === undefined ? observed(op, 'written') : observed(op, 'write-cb', cbErr)));
    });
  });
}

// A connected pair on 127.0.0.1: `client` (ours) and `peer` (the accepted socket).
export async function loopbackPair(
  opts: { allowHalfOpen?: boolean } = {},
): Promise<{ client: net.Socket; peer: net.Socket; server: net.Server; close: () => Promise<void> }> {
  const server = net.createServer();
  const port = await listen(server);
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const peer = await accepted;
  // The lab reports errors as data; a stray one must never crash the run.
  client.on('error', () => undefined);
  peer.on('error', () => undefined);
  const close = async (): Promise<void> => {
    client.destroy();
    peer.destroy();
    await closeServer(server);
  };
  return { client, peer, server, close };
}

// Fill `socket`'s receive side until Node stops reading (readStop: its buffer is over the
// high-water mark), so the kernel, not Node, holds what arrives next, RSTs included.
export async function stopReading(socket: net.Socket, from: net.Socket): Promise<void> {
  from.write(Buffer.alloc(256 * 1024));
  for (let i = 0; i < 100 && socket.readableLength < socket.readableHighWaterMark; i++) await sleep(10);
}

// The descriptor behind a socket (Linux, libuv): the lab writes to it directly.
export function socketFd(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no descriptor');
  return fd;
}

// A port on 127.0.0.1 where nothing listens (it was free a moment ago).
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await closeServer(s);
  return port;
}
