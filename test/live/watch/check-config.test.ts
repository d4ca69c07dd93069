// Live (CLI only, nothing mounted): `watch --check-config` and the duration rules. Every bad value
// is exit 2 with one line on stderr naming the flag, or file:line and key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { privateDirs, runCli, tempDir } from '../../helpers/live.js';

function bomb(): string {
  const rows = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) {
    const p = String.fromCharCode(96 + i);
    const n = String.fromCharCode(97 + i);
    rows.push(`${n}: &${n} [${Array(10).fill(`*${p}`).join(', ')}]`);
  }
  return `${rows.join('\n')}\n`;
}

const bad: Array<{ name: string; yaml: string; line: string }> = [
  {
    name: 'a bare number',
    yaml: 'interval: 5\n',
    line: ":1: interval: invalid duration '5': a unit is required, such as 5s or 5ms",
  },
  {
    name: 'an overflow',
    yaml: 'log: { level: info }\nprobeTimeout: 999999m\n',
    line: ":2: probeTimeout: invalid duration '999999m': above the limit of 10m",
  },
  {
    name: 'an out-of-range value',
    yaml: 'interval: 10ms\n',
    line: ":1: interval: invalid duration '10ms': below the minimum of 100ms",
  },
  {
    name: 'an alias bomb',
    yaml: bomb(),
    line: ':2: (yaml): too many alias expansions (more than 100): the file looks like an alias bomb; write the values out',
  },
  { name: 'an unknown key', yaml: 'interval: 2s\nhael:\n  policy: on\n', line: ':2: hael: unknown key (allowed: ' },
];

for (const c of bad) {
  test(`${c.name}: --check-config and --config both exit 2 with one file:line key: line`, async (t) => {
    const file = path.join(tempDir(t, 'enc-watchsvc-cfg-'), 'watch.yaml');
    fs.writeFileSync(file, c.yaml);
    for (const args of [
      ['watch', '--check-config', file],
      ['watch', '--config', file, '--listen', '127.0.0.1:0'],
    ]) {
      const r = await runCli(args, { env: privateDirs(t), timeoutMs: 30_000 });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0]!.startsWith(`enotconn: ${file}${c.line}`), `${lines[0]}\nwant: enotconn: ${file}${c.line}`);
    }
  });
}

test('--check-config of a valid file: exit 0, "<file>: ok"; every problem of a bad one, one per line', async (t) => {
  const dir = tempDir(t, 'enc-watchsvc-cfg-');
  const good = path.join(dir, 'good.yaml');
  fs.writeFileSync(good, 'interval: 1m30s\nprobeTimeout: 2.5s\n');
  const ok = await runCli(['watch', '--check-config', good], { env: privateDirs(t), timeoutMs: 30_000 });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, `${good}: ok\n`);
  const many = path.join(dir, 'many.yaml');
  fs.writeFileSync(many, 'interval: 5\nconcurrency: lots\nheal:\n  policy: sometimes\n');
  const r = await runCli(['watch', '--check-config', many], { env: privateDirs(t), timeoutMs: 30_000 });
  assert.equal(r.code, 2);
  assert.deepEqual(
    r.stderr
      .trimEnd()
      .split('\n')
      .map((l) => l.split(': ').slice(1, 3).join(': ')),
    [`${many}:1: interval`, `${many}:2: concurrency`, `${many}:4: heal.policy`],
  );
});

const flags: Array<{ args: string[]; line: string }> = [
  {
    args: ['watch', '--interval', '5'],
    line: "enotconn: invalid --interval '5': a unit is required, such as 5s or 5ms",
  },
  {
    args: ['watch', '--probe-timeout', '999999m'],
    line: "enotconn: invalid --probe-timeout '999999m': above the limit of 10m",
  },
  { args: ['watch', '--interval', '1x'], line: "enotconn: invalid --interval '1x': use a number and a unit" },
  { args: ['scan', '--timeout', '2'], line: "enotconn: invalid --timeout '2': a unit is required, such as 2s or 2ms" },
  { args: ['scan', '--timeout', '11m'], line: "enotconn: invalid --timeout '11m': above the limit of 10m" },
];

for (const f of flags) {
  test(`${f.args.join(' ')}: exit 2, one line naming the flag`, async (t) => {
    const dir = tempDir(t, 'enc-watchsvc-flag-');
    const cfg = path.join(dir, 'w.yaml');
    fs.writeFileSync(cfg, 'interval: 2s\n');
    const args = f.args[0] === 'watch' ? [...f.args, '--config', cfg, '--listen', '127.0.0.1:0'] : f.args;
    const r = await runCli(args, { env: privateDirs(t), timeoutMs: 30_000 });
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(f.line), `${lines[0]}\nwant: ${f.line}`);
  });
}
