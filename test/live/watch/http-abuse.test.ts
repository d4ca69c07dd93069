// Live: 10,000 malformed requests while a mount is hung. watch stays up, /healthz keeps answering,
// and every bad request gets a 4xx or is dropped; slow and idle connections are closed by the server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { killHard, liveBindfs, requireBinary, tempDir, waitFor } from '../../helpers/live.js';
import { httpGet, startWatchProc } from './watch-harness.js';

// Send `data` on a fresh connection; the status of the answer, or null when the server dropped it.
function raw(port: number, data: string | Buffer): Promise<{ status: number | null; reply: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer and no close within 20 s for ${JSON.stringify(String(data).slice(0, 80))}`));
    }, 20_000);
    s.setEncoding('latin1');
    s.on('data', (c: string) => (reply += c));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(reply);
      resolve({ status: m ? Number(m[1]) : null, reply });
    });
    s.on('connect', () => {
      s.write(data);
      // Half-close after the request, as nc does; a server waiting for more gets EOF.
      s.end();
    });
  });
}

test('10,000 malformed requests during a hung mount: all 4xx or dropped, /healthz answers throughout, watch stays up', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-watchsvc-http-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const mp = path.join(dir, 'mnt');
  const m = await liveBindfs(t, src, mp);
  const w = await startWatchProc(t, `interval: 500ms\nprobeTimeout: 1s\nobserve:\n  include: ["${dir}/**"]\n`);
  const port = w.port;
  process.kill(m.daemonPid, 'SIGSTOP');
  t.after(() => killHard(m.daemonPid));
  await waitFor(async () => (await w.mount(mp))?.state === 'hung', 30_000, 'the mount to be reported hung');

  const host = `127.0.0.1:${port}`;
  const kinds: Array<{ name: string; data: string | Buffer; want: 'dropped-or-4xx' | number }> = [
    { name: 'the crashing request line', data: 'GET http://[::1 HTTP/1.1\r\n\r\n', want: 'dropped-or-4xx' },
    { name: 'garbage', data: 'GARBAGE\r\n\r\n', want: 'dropped-or-4xx' },
    { name: 'binary', data: Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]), want: 'dropped-or-4xx' },
    { name: 'bad version', data: `GET / HTTP/9.9\r\nHost: ${host}\r\n\r\n`, want: 'dropped-or-4xx' },
    { name: 'absolute URL', data: `GET http://${host}/metrics HTTP/1.1\r\nHost: ${host}\r\n\r\n`, want: 400 },
    { name: 'scheme-relative', data: `GET //evil.example/x HTTP/1.1\r\nHost: ${host}\r\n\r\n`, want: 400 },
    { name: 'asterisk', data: `GET * HTTP/1.1\r\nHost: ${host}\r\n\r\n`, want: 400 },
    { name: 'bad escapes', data: `GET /%zz%%/../api HTTP/1.1\r\nHost: ${host}\r\n\r\n`, want: 404 },
    { name: 'long target', data: `GET /${'a'.repeat(4000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, want: 414 },
    {
      name: 'huge header',
      data: `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
      want: 431,
    },
    { name: 'rebinding Host', data: 'GET /api/mounts HTTP/1.1\r\nHost: evil.example:' + port + '\r\n\r\n', want: 421 },
    { name: 'wrong port', data: 'GET /api/mounts HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n', want: 421 },
    { name: 'no Host', data: 'GET /api/mounts HTTP/1.1\r\n\r\n', want: 'dropped-or-4xx' },
    {
      name: 'foreign Origin',
      data: `GET /api/incidents HTTP/1.1\r\nHost: ${host}\r\nOrigin: http://evil.example\r\n\r\n`,
      want: 403,
    },
    {
      name: 'cross-site fetch',
      data: `GET /api/mounts HTTP/1.1\r\nHost: ${host}\r\nSec-Fetch-Site: cross-site\r\n\r\n`,
      want: 403,
    },
    { name: 'HEAD, wrong Host', data: 'HEAD /metrics HTTP/1.1\r\nHost: evil.example\r\n\r\n', want: 421 },
    { name: 'POST', data: `POST /api/mounts HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\n\r\n{}`, want: 405 },
    { name: 'PUT', data: `PUT /api/incidents HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\n\r\n`, want: 405 },
    { name: 'DELETE', data: `DELETE / HTTP/1.1\r\nHost: ${host}\r\n\r\n`, want: 405 },
    { name: 'CONNECT', data: `CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n`, want: 'dropped-or-4xx' },
    {
      name: 'smuggling',
      data: `GET / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      want: 'dropped-or-4xx',
    },
  ];
  const TOTAL = 10_000;
  const byKind = new Map<string, Map<string, number>>();
  const bad: string[] = [];
  let healthOk = 0;
  let healthBad = 0;
  let flooding = true;
  const healthLoop = (async () => {
    while (flooding) {
      const r = await httpGet(port, '/healthz', 10_000).catch((e: Error) => ({ status: 0, body: e.message, ms: 0 }));
      if (r.status === 200) healthOk++;
      else {
        healthBad++;
        bad.push(`/healthz ${r.status}: ${r.body.slice(0, 100)}`);
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  })();

  // Slowloris: 100 connections that send a header byte every 500 ms and never finish; and 100 that
  // send nothing. The server must close each (header timeout, idle timeout).
  const slow = Array.from({ length: 200 }, (_, i) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    // Read (and drop) what the server sends, so its 408 and FIN reach us as 'end' and 'close'.
    s.resume();
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<void>((res) => s.on('close', () => res()));
    if (i < 100) {
      s.on('connect', () => {
        s.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `);
        timer = setInterval(() => s.write('a'), 500);
      });
    }
    void closed.then(() => clearInterval(timer));
    return { s, closed };
  });

  // Whatever happens below, stop the /healthz poller and the slow clients.
  t.after(() => {
    flooding = false;
    for (const c of slow) c.s.destroy();
  });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < TOTAL) {
      const k = kinds[next++ % kinds.length]!;
      const r = await raw(port, k.data);
      const key = r.status === null ? 'dropped' : String(r.status);
      const counts = byKind.get(k.name) ?? new Map<string, number>();
      counts.set(key, (counts.get(key) ?? 0) + 1);
      byKind.set(k.name, counts);
      const ok =
        k.want === 'dropped-or-4xx' ? r.status === null || (r.status >= 400 && r.status < 500) : r.status === k.want;
      if (!ok && bad.length < 20) bad.push(`${k.name}: got ${key}, want ${k.want}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, () => worker()));
  await waitFor(
    () => slow.every((c) => c.s.destroyed || c.s.closed),
    60_000,
    'the server to close every slow or idle connection',
  );
  await Promise.all(slow.map((c) => c.closed));
  flooding = false;
  await healthLoop;

  const summary = [...byKind].map(([k, v]) => `${k}: ${[...v].map(([s, n]) => `${s}×${n}`).join(' ')}`);
  console.log(`# ${TOTAL} malformed requests: ${summary.join('; ')}; /healthz ${healthOk} ok, ${healthBad} not`);
  assert.deepEqual(bad, []);
  assert.equal(
    [...byKind.values()].reduce((n, v) => n + [...v.values()].reduce((a, b) => a + b, 0), 0),
    TOTAL,
  );
  assert.ok(healthOk > 0);
  assert.equal(w.proc.exitCode, null, 'watch is still running');
  assert.doesNotMatch(w.logs(), /uncaught exception|TypeError/);
  // Still serving, the hung mount still reported hung, from cached state.
  assert.equal((await w.get('/healthz')).status, 200);
  assert.equal((await w.mount(mp))?.state, 'hung');
});

test('2,000 idle connections: watch holds at most its cap of 256, drops them all after the header timeout, and serves again', async (t) => {
  const w = await startWatchProc(t, 'interval: 1s\nobserve:\n  include: ["/nonexistent-enc-watchsvc/**"]\n');
  const sockets = (): number =>
    fs.readdirSync(`/proc/${w.proc.pid}/fd`).filter((n) => {
      try {
        return fs.readlinkSync(`/proc/${w.proc.pid}/fd/${n}`).startsWith('socket:');
      } catch {
        return false;
      }
    }).length;
  const base = sockets();
  const idle = Array.from({ length: 2000 }, () => {
    const s = net.connect({ host: '127.0.0.1', port: w.port });
    s.on('error', () => undefined);
    s.resume();
    return { s, closed: new Promise<void>((res) => s.on('close', () => res())) };
  });
  t.after(() => {
    for (const c of idle) c.s.destroy();
  });
  await Promise.all(
    idle.map(
      (c) =>
        new Promise<void>((res) =>
          c.s.connecting ? c.s.once('connect', () => res()).once('close', () => res()) : res(),
        ),
    ),
  );
  let most = 0;
  await waitFor(
    () => {
      most = Math.max(most, sockets() - base);
      return idle.every((c) => c.s.destroyed);
    },
    30_000,
    'every idle connection to be closed by the server',
  );
  console.log(`# 2000 idle connections: watch held at most ${most} sockets at once`);
  assert.ok(most <= 256, `watch held ${most} sockets`);
  assert.equal((await w.get('/healthz')).status, 200);
});
