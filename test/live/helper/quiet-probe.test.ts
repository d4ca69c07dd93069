// Live: the native helper's quiet probes (O) and barriers (Z), on real bindfs mounts. A healthy
// answer inside its band is left out and counted by the barrier after it, in the right bucket;
// one outside its band, a dead mount and a hung one are always answered; a barrier waits for a
// hung probe's deadline, never for probes sent after it; malformed requests are refused. Then the
// probe runner: a watch-style probe with a band resolves `unchanged`, one whose mount died
// resolves dead, and the Node engine (no quiet probes) answers every probe in full.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { ProbeRunner } from '../../../src/host/probe-runner.js';
import type { ProbeResult } from '../../../src/host/types.js';
import { helperPath } from '../../../src/host/probe-engine.js';
import { REPO, helperProcess, killHard, liveBindfs, tempDir, useProbeEngine, waitFor } from '../../helpers/live.js';

const HELPER = helperPath(path.join(REPO, 'dist/src/host'));
const SKIP = HELPER === null ? 'SKIPPED: the native helper was not built (no C compiler)' : false;
const hex = (p: string): string => Buffer.from(p, 'utf8').toString('hex');

async function twoMounts(t: TestContext): Promise<{ a: string; b: string; daemonB: number }> {
  const dir = tempDir(t, 'enc-quiet-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const a = await liveBindfs(t, src, path.join(dir, 'a'));
  const b = await liveBindfs(t, src, path.join(dir, 'b'));
  return { a: a.mountpoint, b: b.mountpoint, daemonB: b.daemonPid };
}

// Once statfs of `mp` fails (its daemon was killed).
async function untilDead(mp: string): Promise<void> {
  await waitFor(
    () => {
      try {
        fs.statfsSync(mp);
        return false;
      } catch {
        return true;
      }
    },
    5000,
    `${mp} to die`,
  );
}

test('quiet probes: left out in their band and counted by bucket; answered outside it', { skip: SKIP }, async (t) => {
  const { a, b } = await twoMounts(t);
  const h = helperProcess(t);
  // a: any healthy latency is in its band; b: a band no answer can fall in ([0, 1) µs).
  h.send(`O 1 5000 -1 -1 - 0 60000001 ${hex(a)}`);
  h.send(`O 2 5000 -1 -1 - 0 1 ${hex(b)}`);
  h.send('Z 3 60000000');
  await waitFor(() => h.lines.some((l) => l.startsWith('Z 3 ')), 10000, 'the barrier');
  const p2 = h.lines.find((l) => l.startsWith('P 2 '));
  assert.match(p2 ?? '', /^P 2 ok \d+$/, 'b answered: its latency is outside its band');
  assert.equal(h.lines.filter((l) => l.startsWith('P 1 ')).length, 0, 'a left out');
  assert.ok(h.lines.indexOf(p2!) < h.lines.findIndex((l) => l.startsWith('Z 3 ')), 'answers come before the barrier');
  // One left out, in the first bucket (<= 60 s), none in +Inf; its latency is the bucket's sum.
  const z = /^Z 3 done 1 1:(\d+),0:0$/.exec(h.lines.find((l) => l.startsWith('Z 3 '))!);
  assert.ok(z, `barrier line: ${h.lines.join(' | ')}`);
  assert.ok(Number(z[1]) > 0);
  // A barrier with no quiet probe open is answered at once, with no buckets asked: one group.
  h.send('Z 4 -');
  await waitFor(() => h.lines.includes('Z 4 done 0 0:0'), 5000, 'the empty barrier');
});

test(
  'quiet probes: dead and hung mounts are answered; a barrier waits for its own batch only',
  { skip: SKIP },
  async (t) => {
    const { a, b, daemonB } = await twoMounts(t);
    const h = helperProcess(t);
    killHard(daemonB); // b: ENOTCONN from now on
    await waitFor(
      () => {
        try {
          fs.statfsSync(b);
          return false;
        } catch (e) {
          return (e as NodeJS.ErrnoException).code === 'ENOTCONN';
        }
      },
      5000,
      'b to be dead',
    );
    // a hangs: its daemon stopped.
    const daemonA = fs.readdirSync('/proc').find((p) => {
      try {
        return /^\d+$/.test(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0').includes(a);
      } catch {
        return false;
      }
    });
    assert.ok(daemonA, "a's daemon");
    process.kill(Number(daemonA), 'SIGSTOP');
    t.after(() => {
      try {
        process.kill(Number(daemonA), 'SIGCONT');
      } catch {
        // gone
      }
    });
    const t0 = performance.now();
    let firstBarrierMs = 0;
    h.send(`O 1 5000 -1 -1 - 0 60000001 ${hex(b)}`);
    h.send('Z 2 -');
    h.send(`O 3 700 -1 -1 - 0 60000001 ${hex(a)}`);
    h.send('Z 4 -');
    await waitFor(
      () => {
        if (firstBarrierMs === 0 && h.lines.some((l) => l.startsWith('Z 2 '))) firstBarrierMs = performance.now() - t0;
        return h.lines.some((l) => l.startsWith('Z 4 '));
      },
      10000,
      'both barriers',
    );
    const waited = performance.now() - t0;
    assert.deepEqual(
      h.lines.map((l) => l.replace(/^(P .*) \d+$/, '$1 N')),
      ['P 1 err 107 s N', 'Z 2 done 0 0:0', 'H 3', 'Z 4 done 0 0:0'],
      'the dead mount answered in full whatever its band, the hung one H, each barrier after its batch',
    );
    assert.ok(
      firstBarrierMs < 600,
      `the first barrier did not wait for the hung probe sent after it (${firstBarrierMs.toFixed(0)} ms)`,
    );
    assert.ok(waited >= 650, `the second barrier waited for the hung probe's deadline (${waited.toFixed(0)} ms)`);
  },
);

test('quiet probes: malformed O and Z requests are refused', { skip: SKIP }, async (t) => {
  const h = helperProcess(t);
  const root = hex('/');
  for (const line of [
    `O 1 1000 -1 -1 - 5 5 ${root}`, // empty band
    `O 2 1000 -1 -1 - -1 5 ${root}`, // negative bound
    `O 3 1000 -1 -1 - 0 5`, // no path
    `O 4 1000 7 -1 - 0 5 ${root}`, // a uid without a gid
    'Z x -',
    'Z 6',
    'Z 7 5,5',
    'Z 8 5,',
    'Z 9 0',
    'Z 10 5,a',
  ]) {
    h.send(line);
  }
  await waitFor(() => h.lines.length >= 10, 5000, 'ten refusals');
  assert.deepEqual(h.lines, [
    'E 1 malformed request',
    'E 2 malformed request',
    'E 3 malformed request',
    'E 4 malformed request',
    'E -1 malformed request',
    'E 6 malformed request',
    'E 7 malformed request',
    'E 8 malformed request',
    'E 9 malformed request',
    'E 10 malformed request',
  ]);
});

for (const engine of ['native', 'node'] as const) {
  test(`the probe runner with a band (${engine} engine): unchanged while healthy in it, dead when it died`, async (t) => {
    if (!useProbeEngine(t, engine)) return;
    const { a, b, daemonB } = await twoMounts(t);
    const host = new NodeHost();
    t.after(() => host.close());
    const opts = { timeoutMs: 3000, concurrency: 4, latencyBucketsUs: [500, 1000, 2500, 60_000_000] };
    const band = [0, 60_000_001] as const;
    const targets = [
      { key: `k-a-${a}`, path: a, unchangedBandUs: band },
      { key: `k-b-${b}`, path: b, unchangedBandUs: band },
    ];
    const first = await host.probe(targets, opts);
    for (const r of first) {
      assert.equal(r.state, 'healthy');
      if (r.state !== 'healthy') continue;
      // The native helper leaves both out; the Node child answers in full.
      assert.equal(r.unchanged, engine === 'native' ? true : undefined);
      assert.ok(r.latencyMs > 0 && r.latencyMs < 60_000);
    }
    killHard(daemonB);
    await untilDead(b);
    // The watch loop's batch call: one call per target, by index, as each answer arrives.
    const seen: Array<[number, ProbeResult]> = [];
    await host.probeEach(targets, opts, (i, r) => void seen.push([i, r]));
    seen.sort((x, y) => x[0] - y[0]);
    assert.deepEqual(
      seen.map(([i]) => i),
      [0, 1],
    );
    const [ra, rb] = seen.map(([, r]) => r);
    assert.equal(ra!.state, 'healthy');
    assert.deepEqual(rb && rb.state !== 'healthy' && rb.state !== 'hung' ? [rb.state, rb.errno] : rb, [
      'dead',
      'ENOTCONN',
    ]);
    // A call that throws does not cut the batch short: every target still has its call, then the
    // batch rejects with that error.
    let calls = 0;
    await assert.rejects(
      host.probeEach(targets, opts, () => {
        calls++;
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(calls, 2);
  });
}

test(
  'a helper that refuses quiet probes (an older one) gets each probe again in full, and plain ones after',
  { skip: SKIP },
  async (t) => {
    if (!useProbeEngine(t, 'native')) return;
    const { a, b, daemonB } = await twoMounts(t);
    // The older helper: the real one behind a filter that refuses O and Z as a helper without them
    // does (E <id> malformed request), and logs what it refused.
    const dir = tempDir(t, 'enc-oldhelper-');
    fs.chmodSync(dir, 0o755);
    const refused = path.join(dir, 'refused.log');
    const wrapper = path.join(dir, 'old-helper');
    fs.writeFileSync(
      wrapper,
      `#!${process.execPath}
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const h = spawn(${JSON.stringify(HELPER)}, process.argv.slice(2), { stdio: ['pipe', 'inherit', 'ignore'] });
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (line.startsWith('O ') || line.startsWith('Z ')) {
      fs.appendFileSync(${JSON.stringify(refused)}, line.split(' ', 1)[0] + '\\n');
      process.stdout.write('E ' + line.split(' ')[1] + ' malformed request\\n');
    } else h.stdin.write(line + '\\n');
  }
});
process.stdin.on('end', () => h.stdin.end());
h.on('exit', () => process.exit(0));
`,
      { mode: 0o755 },
    );
    const runner = new ProbeRunner(tempDir(t, 'enc-oldrun-'));
    t.after(() => runner.close());
    (runner as unknown as { helper: string }).helper = wrapper;
    const opts = { timeoutMs: 3000, concurrency: 2, latencyBucketsUs: [500, 1000, 2500, 60_000_000] };
    const band = [0, 60_000_001] as const;
    const targets = [
      { key: `k-a-${a}`, path: a, unchangedBandUs: band },
      { key: `k-b-${b}`, path: b, unchangedBandUs: band },
    ];
    const log = (): string[] => (fs.existsSync(refused) ? fs.readFileSync(refused, 'utf8').trim().split('\n') : []);
    for (const r of await runner.probe(targets, opts)) {
      assert.equal(r.state, 'healthy');
      if (r.state !== 'healthy') continue;
      assert.equal(r.unchanged, undefined, 'answered in full, not left out');
      assert.ok(r.latencyMs > 0 && r.latencyMs < 60_000);
    }
    assert.deepEqual(log().sort(), ['O', 'O', 'Z'], 'both quiet probes and their barrier were refused');
    killHard(daemonB);
    await untilDead(b);
    const [ra, rb] = await runner.probe(targets, opts);
    assert.equal(ra!.state, 'healthy');
    assert.deepEqual(rb && rb.state !== 'healthy' && rb.state !== 'hung' ? [rb.state, rb.errno] : rb, [
      'dead',
      'ENOTCONN',
    ]);
    assert.equal(log().length, 3, 'no quiet probe is sent once one was refused');
  },
);
