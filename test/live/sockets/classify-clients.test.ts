import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { classifySocketError, type SocketErrorClass } from '../../../src/sockets/classify.js';

// Real clients (undici through global fetch, http.get, net) against a real server on 127.0.0.1:
// each failure is produced by the kernel and the client library, then classified.

let server: http.Server;
let base = '';
let deadPort = 0;
let held: net.Socket | null = null;

before(async () => {
  server = http.createServer((req, res) => {
    switch (req.url) {
      case '/hang':
        return; // never answers: the client's own deadline fires
      case '/midbody':
        // Promise 100 bytes, send 10, then close cleanly (FIN): a peer that went away mid-body.
        res.writeHead(200, { 'content-length': '100' });
        res.write('0123456789', () => req.socket.end());
        return;
      case '/reset':
        req.socket.resetAndDestroy(); // SO_LINGER 0: the kernel sends an RST
        return;
      case '/reset-midbody':
        // Send 10 of 100 bytes and hold the connection; /trigger-reset resets it once the client has
        // read them, so the RST lands on a read in progress (no race with the data).
        res.writeHead(200, { 'content-length': '100' });
        res.write('0123456789');
        held = req.socket;
        return;
      case '/trigger-reset':
        held?.resetAndDestroy();
        held = null;
        res.end('reset');
        return;
      default:
        res.end('ok');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  // A port that was just listening and is now closed: connects to it are refused.
  const dead = net.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  deadPort = (dead.address() as net.AddressInfo).port;
  await new Promise<void>((r) => dead.close(() => r()));
});

after(() => {
  server.closeAllConnections();
  server.close();
});

async function fetchError(url: string, init: RequestInit = {}, readBody = false): Promise<unknown> {
  try {
    const res = await fetch(url, init);
    if (readBody) await res.text();
  } catch (e) {
    return e;
  }
  assert.fail(`fetch ${url} succeeded`);
}

function httpGetError(url: string, opts: http.RequestOptions = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, opts, (res) => {
      res.on('data', () => {});
      res.on('error', resolve);
      res.on('end', () => reject(new Error(`http.get ${url} succeeded`)));
    });
    req.on('error', resolve);
  });
}

function netError(port: number, host: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    s.on('error', resolve);
    s.on('connect', () => {
      s.destroy();
      reject(new Error('net.connect succeeded'));
    });
  });
}

function expectKind(c: SocketErrorClass, kind: SocketErrorClass['kind'], retryable: boolean, code: string): void {
  assert.equal(c.kind, kind, c.summary);
  assert.equal(c.retryable, retryable, c.summary);
  assert.equal(c.code, code, c.summary);
}

test('fetch with AbortSignal.timeout() is a retryable timeout, not unknown', async () => {
  const c = classifySocketError(await fetchError(`${base}/hang`, { signal: AbortSignal.timeout(200) }));
  expectKind(c, 'timeout', true, 'TIMEOUT_ERR');
});

test('http.get with AbortSignal.timeout() is a retryable timeout, not a caller abort', async () => {
  const c = classifySocketError(await httpGetError(`${base}/hang`, { signal: AbortSignal.timeout(200) }));
  expectKind(c, 'timeout', true, 'TIMEOUT_ERR');
});

test('a server closing cleanly mid-body is peer-closed for fetch and for http.get, not an RST', async () => {
  const f = classifySocketError(await fetchError(`${base}/midbody`, {}, true));
  expectKind(f, 'peer-closed', true, 'UND_ERR_SOCKET');
  const h = classifySocketError(await httpGetError(`${base}/midbody`));
  expectKind(h, 'peer-closed', true, 'ECONNRESET');
  assert.doesNotMatch(h.summary, /sent a TCP RST/);
});

// The body's first bytes arrive, then the server resets: read the rest and return the error.
async function fetchResetMidBody(): Promise<unknown> {
  const res = await fetch(`${base}/reset-midbody`);
  const reader = res.body!.getReader();
  await reader.read();
  await (await fetch(`${base}/trigger-reset`)).text();
  try {
    for (;;) if ((await reader.read()).done) break;
  } catch (e) {
    return e;
  }
  assert.fail('the body ended without an error');
}

function httpGetResetMidBody(): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/reset-midbody`, { agent: false }, (res) => {
      res.once('data', () => void fetch(`${base}/trigger-reset`).then((r) => r.text()));
      res.on('error', resolve);
      res.on('end', () => reject(new Error('the body ended without an error')));
    });
    req.on('error', resolve);
  });
}

test('a server resetting mid-body is a peer reset on read, for fetch and for http.get', async () => {
  const f = classifySocketError(await fetchResetMidBody());
  expectKind(f, 'peer-reset', true, 'ECONNRESET');
  assert.equal(f.syscall, 'read');
  const h = classifySocketError(await httpGetResetMidBody());
  expectKind(h, 'peer-reset', true, 'ECONNRESET');
  assert.equal(h.syscall, 'read');
});

test('a reset before the response is a peer reset for fetch and http.get', async () => {
  expectKind(classifySocketError(await fetchError(`${base}/reset`)), 'peer-reset', true, 'ECONNRESET');
  expectKind(classifySocketError(await httpGetError(`${base}/reset`)), 'peer-reset', true, 'ECONNRESET');
});

test('a refused connect is refused for fetch, http.get and net', async () => {
  const url = `http://127.0.0.1:${deadPort}/`;
  for (const e of [await fetchError(url), await httpGetError(url), await netError(deadPort, '127.0.0.1')]) {
    const c = classifySocketError(e);
    expectKind(c, 'refused', true, 'ECONNREFUSED');
    assert.equal(c.syscall, 'connect');
  }
});

test('a name under .invalid is a DNS failure, not a socket one, for fetch, http.get and net', async () => {
  // RFC 6761: .invalid never resolves. A resolver that answers gives ENOTFOUND; one that cannot be
  // reached gives EAI_AGAIN: both are the resolver's, and neither is a socket error.
  for (const e of [
    await fetchError('http://enotconn-live.invalid/'),
    await httpGetError('http://enotconn-live.invalid/'),
    await netError(80, 'enotconn-live.invalid'),
  ]) {
    const c = classifySocketError(e);
    assert.equal(c.kind, 'dns', c.summary);
    assert.equal(c.syscall, 'getaddrinfo');
    assert.ok(c.code === 'ENOTFOUND' || c.code === 'EAI_AGAIN', c.code);
  }
});
