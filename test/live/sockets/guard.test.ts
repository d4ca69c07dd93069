import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { guardServer, SOCKET_ERRORS_METRIC, type GuardOptions } from '../../../src/sockets/guard.js';
import { requireBinary, waitFor } from '../../helpers/live.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const IDLE_MS = 300;
// Longer than IDLE_MS: long enough for the guard to have acted, if it were there.
const LEAK_WAIT_MS = 1500;

// TCP sockets on 127.0.0.1:port in CLOSE-WAIT, as the kernel lists them (ss, iproute2).
function closeWaitCount(port: number): number {
  const r = spawnSync('ss', ['-Htan', 'state', 'close-wait', `( sport = :${port} )`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

function fdOf(socket: net.Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

function fdIsSocket(fd: number): boolean {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
  } catch {
    return false;
  }
}

async function listen(t: TestContext, server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    server.close();
    (server as http.Server).closeAllConnections?.();
  });
  return (server.address() as net.AddressInfo).port;
}

// A server socket that stopped reading: the client sends more than the high-water mark and
// the server never consumes it (backpressure), then the client goes away with `how`.
async function pausedPeerGoesAway(
  t: TestContext,
  guard: GuardOptions | null,
  how: 'fin' | 'rst',
): Promise<{ port: number; peer: net.Socket; closed: () => boolean; fd: number }> {
  const server = net.createServer();
  if (guard) guardServer(server, guard);
  const port = await listen(t, server);
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ port, host: '127.0.0.1' });
  client.on('error', () => undefined);
  t.after(() => client.destroy());
  const peer = await accepted;
  peer.on('error', () => undefined);
  peer.pause();
  t.after(() => peer.destroy());
  let closed = false;
  peer.on('close', () => (closed = true));
  await new Promise<void>((r) => (client.connecting ? client.once('connect', () => r()) : r()));
  // 64 KiB: Node reads one chunk, goes over its high-water mark and stops reading; the FIN
  // still fits in the kernel's receive window, so it arrives.
  client.write(Buffer.alloc(64 * 1024));
  await waitFor(() => peer.readableLength >= peer.readableHighWaterMark, 5000, 'the server to stop reading');
  const fd = fdOf(peer);
  if (how === 'fin') client.end();
  else client.resetAndDestroy();
  return { port, peer, closed: () => closed, fd };
}

test('without the guard, a paused server socket whose peer closed stays in CLOSE_WAIT', async (t) => {
  if (!requireBinary(t, 'ss')) return;
  const p = await pausedPeerGoesAway(t, null, 'fin');
  await waitFor(() => closeWaitCount(p.port) === 1, 5000, 'CLOSE-WAIT');
  await sleep(LEAK_WAIT_MS);
  assert.equal(closeWaitCount(p.port), 1, 'still in CLOSE-WAIT');
  assert.equal(p.closed(), false, "no 'close' event");
  assert.equal(fdIsSocket(p.fd), true, 'the descriptor is still open');
});

test('with the guard, the same socket is closed: CLOSE_WAIT is gone', async (t) => {
  if (!requireBinary(t, 'ss')) return;
  const p = await pausedPeerGoesAway(t, { idleTimeoutMs: IDLE_MS }, 'fin');
  await waitFor(() => p.closed(), 5000, 'the guard to close the socket');
  await waitFor(() => closeWaitCount(p.port) === 0, 5000, 'CLOSE-WAIT to go');
  assert.equal(fdIsSocket(p.fd), false, 'the descriptor is closed');
});

test('without the guard, a paused server socket whose peer sent an RST is never closed (fd leaks)', async (t) => {
  const p = await pausedPeerGoesAway(t, null, 'rst');
  await sleep(LEAK_WAIT_MS);
  assert.equal(p.closed(), false, "no 'close' event (nodejs/node#31106)");
  assert.equal(fdIsSocket(p.fd), true, 'the descriptor is still open');
});

test('with the guard, a paused server socket whose peer sent an RST is closed', async (t) => {
  const seen: string[] = [];
  const p = await pausedPeerGoesAway(
    t,
    {
      idleTimeoutMs: IDLE_MS,
      logger: { info: (o) => seen.push((o as { code: string }).code), error: () => undefined },
    },
    'rst',
  );
  await waitFor(() => p.closed(), 5000, 'the guard to close the socket');
  assert.equal(fdIsSocket(p.fd), false);
  assert.deepEqual(seen, ['ETIMEOUT_IDLE']);
});

test('http: the guard closes idle sockets, so a paused upload whose client left is closed', async (t) => {
  if (!requireBinary(t, 'ss')) return;
  for (const guarded of [false, true]) {
    let reqSocket: net.Socket | null = null;
    const server = http.createServer((req) => {
      reqSocket = req.socket;
      req.pause(); // the handler waits on something slow and never reads the body
    });
    const guard = guarded ? guardServer(server, { idleTimeoutMs: IDLE_MS }) : null;
    // By its sweep, not by a socket timer (refreshed on every read and write: a cost per request).
    assert.equal(server.timeout, 0);
    const port = await listen(t, server);
    const client = net.connect({ port, host: '127.0.0.1' });
    client.on('error', () => undefined);
    t.after(() => client.destroy());
    client.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n`);
    client.write(Buffer.alloc(64 * 1024));
    await waitFor(() => reqSocket !== null, 5000, 'the request');
    await sleep(100);
    client.end();
    if (guarded) {
      await waitFor(() => closeWaitCount(port) === 0 && reqSocket!.destroyed, 5000, 'the guard to close it');
      assert.deepEqual(
        guard!.counts().map((c) => [c.code, c.count]),
        [['ETIMEOUT_IDLE', 1]],
      );
    } else {
      await waitFor(() => closeWaitCount(port) === 1, 5000, 'CLOSE-WAIT');
      await sleep(LEAK_WAIT_MS);
      assert.equal(closeWaitCount(port), 1, 'unguarded: still in CLOSE-WAIT');
      reqSocket!.destroy();
    }
  }
});

// Lines pino wrote, parsed.
function pinoCapture(): { logger: pino.Logger; lines: Array<{ level: number; code: string; msg: string }> } {
  const lines: Array<{ level: number; code: string; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

test('http: a malformed request is answered 400, logged at info and counted by code and kind', async (t) => {
  const { logger, lines } = pinoCapture();
  const registry = new Registry();
  const server = http.createServer((_req, res) => res.end('ok'));
  guardServer(server, { logger, registry });
  const port = await listen(t, server);
  const reply = await new Promise<string>((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1' }, () => c.write('NOT-HTTP\r\n\r\n'));
    let out = '';
    c.on('data', (b) => (out += b.toString()));
    c.on('close', () => resolve(out));
    c.on('error', () => undefined);
  });
  assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
  await waitFor(() => lines.length === 1, 2000, 'a log line');
  assert.equal(lines[0]!.level, 30, 'info');
  assert.equal(lines[0]!.code, 'HPE_INVALID_METHOD');
  const metric = await registry.getSingleMetricAsString(SOCKET_ERRORS_METRIC);
  assert.match(metric, /enotconn_socket_errors_total\{code="HPE_INVALID_METHOD",kind="unknown"\} 1/);
});

test('net: a client reset is handled, logged at debug and counted; a use-after-close bug is logged at error', async (t) => {
  const { logger, lines } = pinoCapture();
  const registry = new Registry();
  let mode: 'reset' | 'ebadf' = 'reset';
  const server = net.createServer((socket) => {
    if (mode === 'ebadf') {
      fs.closeSync(fdOf(socket)); // a bug: the descriptor is closed behind libuv
      socket.write('x');
    } else {
      socket.resume(); // reading: the client's RST surfaces as read ECONNRESET
    }
  });
  const guard = guardServer(server, { logger, registry });
  const port = await listen(t, server);
  // Unguarded, this 'error' on the server socket would be thrown and end the process.
  const c = net.connect({ port, host: '127.0.0.1' });
  c.on('error', () => undefined);
  await new Promise<void>((r) => c.once('connect', () => r()));
  await sleep(50);
  c.resetAndDestroy();
  await waitFor(() => lines.length === 1, 5000, 'the reset to be logged');
  assert.deepEqual([lines[0]!.level, lines[0]!.code], [20, 'ECONNRESET'], 'debug');
  mode = 'ebadf';
  const d = net.connect({ port, host: '127.0.0.1' });
  d.on('error', () => undefined);
  t.after(() => d.destroy());
  await waitFor(() => lines.length === 2, 5000, 'the EBADF to be logged');
  assert.deepEqual([lines[1]!.level, lines[1]!.code], [50, 'EBADF'], 'error');
  assert.deepEqual(
    guard.counts().sort((a, b) => a.code.localeCompare(b.code)),
    [
      { code: 'EBADF', kind: 'local-misuse', count: 1 },
      { code: 'ECONNRESET', kind: 'peer-reset', count: 1 },
    ],
  );
  const metric = await registry.getSingleMetricAsString(SOCKET_ERRORS_METRIC);
  assert.match(metric, /\{code="ECONNRESET",kind="peer-reset"\} 1/);
  assert.match(metric, /\{code="EBADF",kind="local-misuse"\} 1/);
});

test('two guarded servers share one counter on one registry', async (t) => {
  const registry = new Registry();
  const a = net.createServer();
  const b = net.createServer();
  guardServer(a, { registry });
  guardServer(b, { registry });
  t.after(() => {
    a.close();
    b.close();
  });
  assert.equal((await registry.getMetricsAsJSON()).filter((m) => m.name === SOCKET_ERRORS_METRIC).length, 1);
});

test('http2: the guard sets the idle timeout and counts session errors', async (t) => {
  const server = http2.createServer();
  const guard = guardServer(server, { idleTimeoutMs: IDLE_MS });
  assert.equal((server as unknown as { timeout: number }).timeout, IDLE_MS);
  const port = await listen(t, server as unknown as net.Server);
  // Not an HTTP/2 connection preface: the session fails.
  const c = net.connect({ port, host: '127.0.0.1' }, () => c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  c.on('error', () => undefined);
  c.resume();
  t.after(() => c.destroy());
  await waitFor(() => guard.counts().length > 0 || c.destroyed, 5000, 'the session to fail');
  await sleep(100);
  const counts = guard.counts();
  assert.equal(counts.length, 1, JSON.stringify(counts));
  assert.equal(counts[0]!.code, 'ERR_HTTP2_ERROR');
});

test('unguard removes the listeners it added', () => {
  const server = http.createServer();
  const before = server.listenerCount('clientError');
  const g = guardServer(server);
  assert.equal(server.listenerCount('clientError'), before + 1);
  g.unguard();
  assert.equal(server.listenerCount('clientError'), before);
});
