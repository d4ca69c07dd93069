import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { SCENARIOS } from '../../../src/sockets/lab/index.js';
import { natReset } from '../../../src/sockets/lab/nat-reset.js';
import { leftoverNamespaces } from '../../../src/sockets/lab/netns.js';
import { runScenario, type LabReport } from '../../../src/sockets/lab/runner.js';
import { CLI, privateDirs, requireBinary, runCli, waitFor } from '../../helpers/live.js';

type Row = [op: string, event: string, code: string | readonly string[] | null, syscall: string | null];

// What each scenario must show on this machine (Linux 6.x, Node 20), written out here rather
// than read from the scenarios, so a changed expectation in src/ cannot pass unnoticed.
const OBSERVED: Record<string, Row[]> = {
  'connect-refused': [['connect', 'error', 'ECONNREFUSED', 'connect']],
  'reset-during-read': [
    ['read', 'error', 'ECONNRESET', 'read'],
    ['after the error', 'close', null, null],
  ],
  'write-after-reset': [
    ['socket.write #1', 'error', 'ECONNRESET', 'write'],
    ['socket.write #2', 'write-cb', 'ERR_STREAM_DESTROYED', null],
    ['write(2) #1 on the fd', 'error', 'ECONNRESET', 'write'],
    ['write(2) #2 on the fd', 'error', 'EPIPE', 'write'],
    ['socket.write #3', 'error', 'EPIPE', 'write'],
  ],
  'end-after-reset': [
    ['end()', 'finish', null, null],
    ['destroy()', 'close', null, null],
  ],
  'half-close-write': [
    ['peer end()', 'end', null, null],
    ['write #1', 'written', null, null],
    ['write #2', 'error', 'EPIPE', 'write'],
  ],
  'paused-reset': [
    ['peer RST, unguarded', 'none', null, null],
    ['peer RST, guarded (idle 300 ms)', 'close', 'ETIMEOUT_IDLE', null],
  ],
  'use-after-destroy': [
    ['socket.write after destroy()', 'write-cb', 'ERR_STREAM_DESTROYED', null],
    ['socket.write after close(fd)', 'error', 'EBADF', 'write'],
  ],
  'nat-reset': [
    ['connect', 'connect', null, null],
    ['write after the router starts rejecting', 'error', 'ECONNRESET', 'read'],
  ],
  'blackhole-timeout': [
    ['connect', 'connect', null, null],
    ['write into the black hole', 'error', 'ETIMEDOUT', 'read'],
  ],
  'link-down-connect': [['connect while the link goes down', 'error', ['EHOSTUNREACH', 'ETIMEDOUT'], 'connect']],
};

test('the test table covers every scenario', () => {
  assert.deepEqual(Object.keys(OBSERVED).sort(), SCENARIOS.map((s) => s.name).sort());
});

for (const s of SCENARIOS) {
  test(`lab ${s.name}${s.netns ? ' (netns, root)' : ''}: Node reports what is documented for this kernel`, async (t) => {
    if (s.netns && !requireBinary(t, 'ip', 'iptables')) return;
    const r = await runCli(['lab', s.name, '--json', ...(s.netns ? ['--netns'] : [])], {
      env: privateDirs(t),
      timeoutMs: 90_000,
    });
    assert.equal(r.stderr, '');
    const report = JSON.parse(r.stdout) as LabReport;
    const res = report.scenarios[0]!;
    assert.equal(res.error, undefined);
    const rows = OBSERVED[s.name]!;
    assert.equal(res.operations.length, rows.length);
    rows.forEach(([op, event, code, syscall], i) => {
      const o = res.operations[i]!;
      assert.equal(o.op, op);
      assert.ok(o.observed, `${op}: observed`);
      assert.equal(o.observed.event, event, `${op}: event`);
      if (Array.isArray(code)) assert.ok(code.includes(o.observed.code), `${op}: code ${o.observed.code}`);
      else assert.equal(o.observed.code, code, `${op}: code`);
      assert.equal(o.observed.syscall, syscall, `${op}: syscall`);
      assert.equal(o.ok, true);
    });
    assert.equal(r.code, 0);
  });
}

test('lab --syscalls: the kernel says shutdown ENOTCONN, which Node swallows', async (t) => {
  if (!requireBinary(t, 'strace')) return;
  const r = await runCli(['lab', 'end-after-reset', '--syscalls', '--json'], { env: privateDirs(t) });
  assert.equal(r.code, 0, r.stderr);
  const ops = (JSON.parse(r.stdout) as LabReport).scenarios[0]!.operations;
  const end = ops.find((o) => o.op === 'end()')!;
  assert.equal(end.observed?.event, 'finish');
  assert.equal(end.observed?.code, null);
  assert.deepEqual(
    end.kernel?.map((k) => [k.syscall, k.errno, k.swallowed]),
    [['shutdown', 'ENOTCONN', true]],
  );
});

test('lab --syscalls: after an RST the kernel answers write with ECONNRESET, then EPIPE', async (t) => {
  if (!requireBinary(t, 'strace')) return;
  const r = await runCli(['lab', 'write-after-reset', '--syscalls', '--json'], { env: privateDirs(t) });
  assert.equal(r.code, 0, r.stderr);
  const ops = (JSON.parse(r.stdout) as LabReport).scenarios[0]!.operations;
  const kernel = (op: string): string[][] =>
    ops.find((o) => o.op === op)!.kernel!.map((k) => [k.syscall, k.errno, String(k.swallowed)]);
  assert.deepEqual(kernel('socket.write #1'), [['write', 'ECONNRESET', 'false']]);
  assert.deepEqual(kernel('socket.write #2'), [], 'Node does not ask the kernel again');
  assert.deepEqual(kernel('write(2) #1 on the fd'), [['write', 'ECONNRESET', 'false']]);
  assert.deepEqual(kernel('write(2) #2 on the fd'), [['write', 'EPIPE', 'false']]);
});

test('lab --syscalls: a refused connect shows as SO_ERROR ECONNREFUSED', async (t) => {
  if (!requireBinary(t, 'strace')) return;
  const r = await runCli(['lab', 'connect-refused', '--syscalls', '--json'], { env: privateDirs(t) });
  assert.equal(r.code, 0, r.stderr);
  const op = (JSON.parse(r.stdout) as LabReport).scenarios[0]!.operations[0]!;
  assert.deepEqual(
    op.kernel?.map((k) => [k.syscall, k.errno]),
    [['connect', 'ECONNREFUSED']],
  );
});

test('lab --list names every scenario and whether it needs netns', async (t) => {
  const r = await runCli(['lab', '--list', '--json'], { env: privateDirs(t) });
  assert.equal(r.code, 0);
  const list = (JSON.parse(r.stdout) as { scenarios: Array<{ name: string; netns: boolean }> }).scenarios;
  assert.deepEqual(
    list.map((s) => `${s.name}:${s.netns}`),
    SCENARIOS.map((s) => `${s.name}:${s.netns}`),
  );
  assert.equal(list.filter((s) => s.netns).length, 3);
});

test('lab with an unknown scenario is a usage error (exit 2, one line)', async (t) => {
  const r = await runCli(['lab', 'no-such-thing'], { env: privateDirs(t) });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^enotconn: no lab scenario 'no-such-thing'/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('a netns scenario leaves no namespace behind', async (t) => {
  if (!requireBinary(t, 'ip', 'iptables')) return;
  const host = new NodeHost();
  t.after(() => host.close());
  const r = await runScenario(host, natReset, false);
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(await leftoverNamespaces(host), []);
});

test('SIGINT during a netns scenario still removes its namespaces (exit 130)', async (t) => {
  if (!requireBinary(t, 'ip', 'iptables')) return;
  const child = spawn(process.execPath, [CLI, 'lab', '--netns', 'blackhole-timeout'], {
    env: { ...process.env, ...privateDirs(t), NO_COLOR: '1' },
    stdio: 'ignore',
  });
  t.after(() => child.kill('SIGKILL'));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const mine = (): string[] =>
    spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`enc${child.pid}`));
  await waitFor(() => mine().length === 3, 15_000, 'the three namespaces');
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.deepEqual(mine(), []);
});
