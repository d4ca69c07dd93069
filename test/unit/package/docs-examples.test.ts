// The library examples run as written: each block between example markers in docs/sockets.md (and
// in README.md, once the README carries the same markers) is copied verbatim into a file inside
// the package, so `import 'enotconn/sockets'` resolves to this build, and run against a real
// local server or client.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { docExample } from '../../helpers/doc-examples.js';
import { REPO, freePort, waitFor } from '../../helpers/live.js';
import { runArgv } from '../../helpers/run-argv.js';

const DOCS = path.join(REPO, 'docs/sockets.md');
const README = path.join(REPO, 'README.md');

// Write `code` to a file under dist/ (inside the package: self-reference resolves 'enotconn/...').
function exampleFile(t: TestContext, name: string, code: string): string {
  const dir = fs.mkdtempSync(path.join(REPO, 'dist', 'examples-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, `${name}.mjs`);
  fs.writeFileSync(file, code);
  return file;
}

// A server that reads the request, then resets the connection (SO_LINGER 0: an RST, not a FIN).
async function resettingServer(t: TestContext): Promise<string> {
  const server = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
}

async function runClassify(t: TestContext, code: string): Promise<void> {
  const url = await resettingServer(t);
  const file = exampleFile(t, 'classify', code);
  const r = await runArgv([process.execPath, file], { env: { ...process.env, URL: url }, timeoutMs: 20_000 });
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    'ECONNRESET peer-reset retryable\n' +
      'read ECONNRESET: an RST arrived while reading: the peer closed with unread data, crashed, or a NAT/firewall lost the flow\n',
  );
}

// Send raw bytes and collect what comes back until the server closes (or resets).
function rawRequest(port: number, bytes: string, reset = false): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(bytes);
      if (reset) s.resetAndDestroy();
    });
    let got = '';
    s.on('data', (b) => (got += b.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

async function runGuard(t: TestContext, code: string): Promise<void> {
  const port = await freePort();
  const file = exampleFile(t, 'guard', code);
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let logs = '';
  child.stdout.on('data', (b: Buffer) => (logs += b.toString()));
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s.destroy() !== null));
        s.on('error', () => resolve(false));
      }),
    10_000,
    'the guard example to listen',
  );
  // A malformed request: the guard answers 400 and logs it; the server keeps going.
  const bad = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n');
  assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
  // A client that resets mid-request.
  await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n', true);
  const ok = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(await ok.text(), 'ok\n');
  assert.equal(child.exitCode, null, 'the guarded server is still running');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^enotconn_socket_errors_total\{code="HPE_INVALID_HEADER_TOKEN",kind="[a-z-]+"\} 1$/m);
  await waitFor(() => logs.includes('HPE_INVALID_HEADER_TOKEN'), 5000, 'the guard to log the bad request');
  const line = logs.split('\n').find((l) => l.includes('HPE_INVALID_HEADER_TOKEN'))!;
  assert.equal((JSON.parse(line) as { level: number }).level, 30, 'a malformed request is logged at info');
}

test('docs/sockets.md: the classify example classifies a real reset as ECONNRESET peer-reset retryable', async (t) => {
  const code = docExample(DOCS, 'classify');
  assert.ok(code, 'docs/sockets.md has the classify example between its markers');
  await runClassify(t, code);
});

test('docs/sockets.md: the guard example answers 400 to a malformed request, survives a reset, counts both', async (t) => {
  const code = docExample(DOCS, 'guard');
  assert.ok(code, 'docs/sockets.md has the guard example between its markers');
  await runGuard(t, code);
});

// The README carries the same blocks (markers as in docs/sockets.md).
test('README.md: the classify and guard examples run as written', async (t) => {
  const classify = docExample(README, 'classify');
  const guard = docExample(README, 'guard');
  assert.ok(classify && guard, 'README.md has both examples between <!-- example:NAME --> markers');
  await runClassify(t, classify);
  await runGuard(t, guard);
});
