// Mean time to repair under `enotconn watch` (issue 4, "Benchmarks"): for sshfs, rclone and bindfs,
// managed (watch supervises the daemon) and observed (watch heals it, 1 s interval), kill -9 the
// daemon N times and time until the mount serves a read again. Prints p50 and p95 against the
// targets: managed p50 ≤ 500 ms and p95 ≤ 1 s; observed p50 ≤ 1.5 s.
// Run: node dist/bench/mttr.js   (root; MTTR_RUNS=20 by default; MTTR_ONLY=sshfs,bindfs to narrow)
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { liveSshd, sshfsOptions, startFuseDaemon, waitFor, type Sshd } from '../test/helpers/live.js';
import { startWatchProc, type WatchProc } from '../test/live/watch/watch-harness.js';

const RUNS = Number(process.env.MTTR_RUNS ?? 20);
const ONLY = (process.env.MTTR_ONLY ?? 'sshfs,rclone,bindfs').split(',');

// The test harness wants a TestContext for its cleanups; the bench runs them itself at the end.
const cleanups: Array<() => unknown> = [];
const t = {
  after: (fn: () => unknown) => void cleanups.push(fn),
  skip: (why: string) => {
    throw new Error(why);
  },
} as unknown as TestContext;

async function runCleanups(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // best effort
    }
  }
}

// The pid of the FUSE daemon serving `mp`: its argv names the mountpoint and it holds /dev/fuse.
function daemonPid(mp: string): number | null {
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0');
      if (!argv.includes(mp)) continue;
      const fds = fs.readdirSync(`/proc/${n}/fd`);
      if (fds.some((fd) => fs.readlinkSync(`/proc/${n}/fd/${fd}`) === '/dev/fuse')) return Number(n);
    } catch {
      // gone or not ours
    }
  }
  return null;
}

// Read `file` until it returns `want`; the time from `t0` when it did.
async function timeToRead(file: string, want: string, t0: number, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    try {
      if ((await fsp.readFile(file, 'utf8')) === want) return performance.now() - t0;
    } catch {
      // ENOTCONN, ENOENT while remounting
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`${file} not readable after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface Backend {
  name: string;
  argv(src: string, mp: string, foreground: boolean): string[];
}

function backends(sshd: Sshd | null, dir: string): Backend[] {
  const rcloneCfg = path.join(dir, 'rclone.conf');
  fs.writeFileSync(rcloneCfg, '');
  const all: Backend[] = [
    {
      name: 'sshfs',
      argv: (src, mp) => ['sshfs', '-f', ...sshfsOptions(sshd!, ['reconnect']), `root@127.0.0.1:${src}`, mp],
    },
    { name: 'rclone', argv: (src, mp) => ['rclone', 'mount', '--config', rcloneCfg, src, mp] },
    { name: 'bindfs', argv: (src, mp) => ['bindfs', '-f', src, mp] },
  ];
  return all.filter((b) => ONLY.includes(b.name));
}

async function measure(kind: 'managed' | 'observed', b: Backend, dir: string): Promise<number[]> {
  const src = path.join(dir, `${kind}-${b.name}-src`);
  const mp = path.join(dir, `${kind}-${b.name}-mnt`);
  fs.mkdirSync(src, { recursive: true });
  fs.mkdirSync(mp, { recursive: true });
  fs.writeFileSync(path.join(src, 'probe.txt'), `${kind} ${b.name}\n`);
  const want = `${kind} ${b.name}\n`;
  const common = `interval: 1s\nobserve:\n  include: ["${mp}"]\nheal:\n  policy: on\n  backoff: { initial: 100ms, max: 1s }\n  breaker: { maxHeals: 1000 }\nlog: { level: warn }\n`;
  let w: WatchProc;
  if (kind === 'managed') {
    w = await startWatchProc(
      t,
      `${common}managedRestart:\n  stableAfter: 1ms\nmanaged:\n  - name: ${b.name}\n    argv: ${JSON.stringify(b.argv(src, mp, true))}\n    mountpoint: ${mp}\n`,
    );
  } else {
    await startFuseDaemon(t, b.argv(src, mp, true), mp);
    w = await startWatchProc(t, common);
    // The recipe must be recorded while the mount is healthy.
    await waitFor(
      () => w.db<{ n: number }>('SELECT COUNT(*) AS n FROM recipes WHERE mountpoint = ?', mp)[0]?.n === 1,
      30_000,
    );
  }
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await waitFor(async () => (await w.mount(mp))?.state === 'healthy' && daemonPid(mp) !== null, 60_000, 'healthy');
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 700)); // kill at a random point of the cycle
    const pid = daemonPid(mp)!;
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    // Wait for the kill to take effect (the old mount fails), then for a read to succeed again.
    await waitFor(
      () => !fs.existsSync(`/proc/${pid}/cmdline`) || fs.readFileSync(`/proc/${pid}/cmdline`).length === 0,
      5000,
    );
    times.push(await timeToRead(path.join(mp, 'probe.txt'), want, t0));
  }
  await w.stop();
  return times;
}

const date = new Date().toISOString().slice(0, 10);
console.log(
  `# enotconn watch MTTR: ${RUNS} kill -9 runs each; ${os.cpus().length} cores, Linux ${os.release()}, Node ${process.version}, ${date}`,
);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-bench-mttr-'));
const rows: string[][] = [];
try {
  const sshd = ONLY.includes('sshfs') ? await liveSshd(t) : null;
  for (const kind of ['managed', 'observed'] as const) {
    for (const b of backends(sshd, dir)) {
      const times = await measure(kind, b, dir);
      const p50 = pct(times, 50);
      const p95 = pct(times, 95);
      const target = kind === 'managed' ? p50 <= 500 && p95 <= 1000 : p50 <= 1500;
      rows.push([
        kind,
        b.name,
        String(times.length),
        p50.toFixed(0),
        p95.toFixed(0),
        Math.max(...times).toFixed(0),
        target ? 'met' : 'MISSED',
      ]);
      console.log(
        `${kind.padEnd(8)} ${b.name.padEnd(7)} p50 ${p50.toFixed(0).padStart(5)} ms  p95 ${p95.toFixed(0).padStart(5)} ms  (${times.map((x) => x.toFixed(0)).join(' ')})`,
      );
    }
  }
} finally {
  await runCleanups();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log('\n| mode | backend | runs | p50 ms | p95 ms | max ms | target |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log('\nTargets: managed p50 ≤ 500 ms and p95 ≤ 1000 ms; observed (interval 1 s) p50 ≤ 1500 ms.');
process.exit(0);
