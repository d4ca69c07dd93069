// The cost of `enotconn watch`: N healthy bindfs mounts (100 and 1,000 by default), a 2 s
// interval, /metrics scraped every 2 s; watch's CPU (% of one core, its probe engine included)
// and RSS of all its processes, for each probe engine, next to Debian's prometheus-node-exporter
// (filesystem collector, installed when missing) scraped every 2 s on the same mounts, in the
// same run. Targets: at 100 mounts, CPU <= node_exporter's and RSS <= 64 MB; at 1,000 mounts,
// <= 2 % CPU and <= 96 MB. It also times /metrics scrapes while one mount is hung (its daemon
// SIGSTOPped): a scrape must not wait on it. watch runs from the npm bundle (package.json's bin).
// A floor row: the native helper alone, sent the same probes, with no watch. Each row carries the
// load average at its end. It asserts nothing.
// Run: node dist/bench/watch-overhead.js   (root; OVERHEAD_MOUNTS=100,1000 OVERHEAD_SECONDS=30
// OVERHEAD_WARMUP_SECONDS=30;
// OVERHEAD_NODE_OPTIONS: watch's NODE_OPTIONS, by default the systemd unit's)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { forceUnmount, freePort, killHard, waitFor } from '../test/helpers/live.js';
import { httpGet, sampleValue, startWatchProc } from '../test/live/watch/watch-harness.js';
import { helperPath } from '../src/host/probe-engine.js';
import { BUNDLE_CLI, REPO, load, machine } from './machine.js';

const COUNTS = (process.env.OVERHEAD_MOUNTS ?? '100,1000').split(',').map(Number);
const SECONDS = Number(process.env.OVERHEAD_SECONDS ?? 30);
// Each process runs this long before it is measured: a daemon's steady state, not its first
// seconds, when V8 compiles its hot code on background threads and its memory reducer has not run
// yet (an empty watch took 0.50 % of a core 8-38 s after its start and 0.23-0.33 % after that).
const WARMUP = Number(process.env.OVERHEAD_WARMUP_SECONDS ?? 30);
const ENGINES = (process.env.OVERHEAD_ENGINES ?? 'native,node').split(',');
const TICK = 100; // USER_HZ
// watch runs with the NODE_OPTIONS its systemd unit sets (deploy/systemd), unless
// OVERHEAD_NODE_OPTIONS says otherwise ('' for none).
const UNIT = fs.readFileSync(path.join(REPO, 'deploy/systemd/enotconn-watch.service'), 'utf8');
const WATCH_NODE_OPTIONS =
  process.env.OVERHEAD_NODE_OPTIONS ?? /^Environment=NODE_OPTIONS=(.*)$/m.exec(UNIT)?.[1]?.trim() ?? '';

const cleanups: Array<() => unknown> = [];
const t = {
  after: (fn: () => unknown) => void cleanups.push(fn),
  skip: (why: string) => {
    throw new Error(why);
  },
} as unknown as TestContext;

// utime + stime (ticks) and VmRSS (kB) of a process and its descendants; helperTicks: the native
// helper's share.
function usage(root: number): { ticks: number; rssKb: number; helperTicks: number } {
  const parent = new Map<number, number>();
  const stat = new Map<number, string[]>();
  const comm = new Map<number, string>();
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const s = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(n), Number(f[1]));
      stat.set(Number(n), f);
      comm.set(Number(n), s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')));
    } catch {
      // gone
    }
  }
  const tree = new Set([root]);
  for (let changed = true; changed;) {
    changed = false;
    for (const [p, pp] of parent) {
      if (!tree.has(p) && tree.has(pp)) {
        tree.add(p);
        changed = true;
      }
    }
  }
  let ticks = 0;
  let rssKb = 0;
  let helperTicks = 0;
  for (const p of tree) {
    const f = stat.get(p);
    if (!f) continue;
    ticks += Number(f[11]) + Number(f[12]);
    if (comm.get(p) === 'enotconn-helper') helperTicks += Number(f[11]) + Number(f[12]);
    try {
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return { ticks, rssKb, helperTicks };
}

async function sampleFor(
  pid: number,
  seconds: number,
  during?: () => Promise<void>,
): Promise<{ cpuPct: number; helperPct: number; rssMb: number; maxRssMb: number }> {
  const a = usage(pid);
  const t0 = performance.now();
  let maxRss = a.rssKb;
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    await (during ? during() : Promise.resolve());
    await new Promise((r) => setTimeout(r, 2000));
    maxRss = Math.max(maxRss, usage(pid).rssKb);
  }
  const b = usage(pid);
  const wall = (performance.now() - t0) / 1000;
  const pct = (ticks: number): number => (ticks / TICK / wall) * 100;
  return {
    cpuPct: pct(b.ticks - a.ticks),
    helperPct: pct(b.helperTicks - a.helperTicks),
    rssMb: b.rssKb / 1024,
    maxRssMb: maxRss / 1024,
  };
}

const date = new Date().toISOString();
console.log(
  `# enotconn watch overhead ${date}: mounts ${COUNTS.join(', ')}, interval 2 s, scraped every 2 s, ${SECONDS} s each after ${WARMUP} s; ${machine()}; CLI dist/bundle/enotconn.cjs; watch NODE_OPTIONS: ${WATCH_NODE_OPTIONS || '(none)'}; ${load()}`,
);
if (!fs.existsSync('/usr/bin/prometheus-node-exporter')) {
  spawnSync('flock', ['/tmp/enotconn-apt.lock', 'apt-get', 'install', '-y', '-qq', 'prometheus-node-exporter'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
const rows: string[] = [];
const verdicts: string[] = [];
for (const MOUNTS of COUNTS) await runFor(MOUNTS);
console.log(
  `\n| process | mounts | CPU % of one core (the helper's share) | RSS MB (end) | RSS MB (max) | load average at the end |`,
);
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('');
for (const v of verdicts) console.log(v);
process.exit(0);

async function runFor(MOUNTS: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-bench-overhead-'));
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'f'), 'x');
  const daemons: number[] = [];
  try {
    for (let i = 0; i < MOUNTS; i++) {
      const mp = path.join(dir, `m${String(i).padStart(4, '0')}`);
      fs.mkdirSync(mp);
      const c = spawn('bindfs', ['-f', src, mp], { stdio: 'ignore', detached: true });
      c.unref();
      daemons.push(c.pid!);
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
    }
    cleanups.push(() => {
      for (const pid of daemons) killHard(pid);
      for (let i = 0; i < MOUNTS; i++) {
        const mp = path.join(dir, `m${String(i).padStart(4, '0')}`);
        forceUnmount(mp);
      }
    });
    await waitFor(
      () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split(dir).length - 1 >= MOUNTS,
      120_000,
      'mounts',
    );

    // prometheus-node-exporter, filesystem collector only (statfs of the same mounts), scraped every 2 s.
    // Its procfs is a copy holding only our mounts' mountinfo lines: the same mounts as watch, and not
    // the other hung mounts on this shared machine, which would hold its scrape (its stuck-mount rule).
    console.error(`phase: node_exporter, ${MOUNTS} mounts`);
    const fakeProc = path.join(dir, 'procfs');
    const ours = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[4]?.startsWith(`${dir}/m`))
      .join('\n');
    const oursMounts = fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[1]?.startsWith(`${dir}/m`))
      .join('\n');
    for (const p of ['1', 'self']) {
      fs.mkdirSync(path.join(fakeProc, p), { recursive: true });
      fs.writeFileSync(path.join(fakeProc, p, 'mountinfo'), `${ours}\n`);
      fs.writeFileSync(path.join(fakeProc, p, 'mounts'), `${oursMounts}\n`); // older node_exporter reads this
    }
    const port = await freePort();
    const ne = spawn(
      'prometheus-node-exporter',
      [
        '--web.listen-address',
        `127.0.0.1:${port}`,
        '--path.procfs',
        fakeProc,
        '--collector.disable-defaults',
        '--collector.filesystem',
      ],
      { stdio: 'ignore' },
    );
    cleanups.push(() => ne.kill('SIGKILL'));
    await waitFor(
      async () => (await httpGet(port, '/metrics').catch(() => ({ status: 0 }))).status === 200,
      20_000,
      'node_exporter',
    );
    const neText = (await httpGet(port, '/metrics')).body;
    const neMounts = neText
      .split('\n')
      .filter((l) => l.startsWith('node_filesystem_avail_bytes') && l.includes(dir)).length;
    await sampleFor(ne.pid!, WARMUP, async () => void (await httpGet(port, '/metrics'))); // warm-up
    const neUse = await sampleFor(ne.pid!, SECONDS, async () => {
      await httpGet(port, '/metrics');
    });
    ne.kill('SIGTERM');
    rows.push(
      `| prometheus-node-exporter (filesystem) | ${neMounts} | ${neUse.cpuPct.toFixed(2)} | ${neUse.rssMb.toFixed(1)} | ${neUse.maxRssMb.toFixed(1)} | ${load().slice(5)} |`,
    );

    // The floor: the native helper alone, sent the same probes (statfs + lstat of each mount, as
    // root, 8 threads, 2 s apart) with nothing else running: what the probes cost in the kernel
    // and the helper, which no change to watch's Node side can remove.
    const helper = helperPath(path.join(REPO, 'dist/src/host'));
    if (helper !== null && ENGINES.includes('native')) {
      console.error(`phase: the helper alone, ${MOUNTS} mounts`);
      const h = spawn(helper, ['--concurrency', '8'], { stdio: ['pipe', 'ignore', 'ignore'] });
      cleanups.push(() => h.kill('SIGKILL'));
      let id = 1;
      const batch = (): string =>
        Array.from({ length: MOUNTS }, (_, i) => {
          const mp = path.join(dir, `m${String(i).padStart(4, '0')}`);
          return `P ${id++} 2000 -1 -1 - ${Buffer.from(mp).toString('hex')}\n`;
        }).join('');
      h.stdin.write(batch());
      await new Promise((r) => setTimeout(r, 2000));
      const floor = await sampleFor(h.pid!, SECONDS, async () => void h.stdin.write(batch()));
      h.kill('SIGKILL');
      rows.push(
        `| floor: enotconn-helper alone, the same probes every 2 s (no watch) | ${MOUNTS} | ${floor.cpuPct.toFixed(2)} | ${floor.rssMb.toFixed(1)} | ${floor.maxRssMb.toFixed(1)} | ${load().slice(5)} |`,
      );
    }

    for (const engine of ENGINES) {
      // enotconn watch (the harness passes this process's environment on).
      process.env.ENOTCONN_PROBE_ENGINE = engine;
      const w = await startWatchProc(
        t,
        `interval: 2s\nobserve:\n  include: ["${dir}/**"]\nheal: { policy: off }\nlog: { level: warn }\n`,
        { cli: BUNDLE_CLI, env: { NODE_OPTIONS: WATCH_NODE_OPTIONS } },
      );
      await waitFor(
        async () => (await w.json<{ mounts: unknown[] }>('/api/mounts')).mounts.length === MOUNTS,
        60_000,
        'all mounts watched',
      );
      console.error(`phase: watch steady state, ${MOUNTS} mounts, ${engine} engine`);
      await sampleFor(w.proc.pid!, WARMUP, async () => void (await w.get('/metrics'))); // warm-up, scraped as measured

      const watchUse = await sampleFor(w.proc.pid!, SECONDS, async () => {
        await w.get('/metrics'); // a 2 s Prometheus scrape, as for node_exporter
      });
      // A hung mount (daemon SIGSTOPped) must not hold a scrape.
      const stopped = daemons[0]!;
      process.kill(stopped, 'SIGSTOP');
      const hungMp = path.join(dir, 'm0000');
      await waitFor(async () => (await w.mount(hungMp))?.state === 'hung', 30_000, 'hung');
      const scrapes: number[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await w.get('/metrics');
        if (sampleValue(r.body, 'enotconn_mount_state', { mountpoint: hungMp, state: 'hung' }) !== 1)
          throw new Error('hung state missing');
        scrapes.push(r.ms);
      }
      process.kill(stopped, 'SIGCONT');
      await w.stop();
      scrapes.sort((a, b) => a - b);
      rows.push(
        `| enotconn watch (${engine} engine, all its processes${WATCH_NODE_OPTIONS ? `, NODE_OPTIONS=${WATCH_NODE_OPTIONS}` : ''}) | ${MOUNTS} | ${watchUse.cpuPct.toFixed(2)}${engine === 'native' ? ` (helper ${watchUse.helperPct.toFixed(2)})` : ''} | ${watchUse.rssMb.toFixed(1)} | ${watchUse.maxRssMb.toFixed(1)} | ${load().slice(5)} |`,
      );
      const cpuTarget = MOUNTS <= 100 ? neUse.cpuPct : 2;
      const rssTarget = MOUNTS <= 100 ? 64 : 96;
      verdicts.push(
        `${MOUNTS} mounts, ${engine} engine: CPU ${watchUse.cpuPct.toFixed(2)} % vs target <= ${cpuTarget.toFixed(2)} %${MOUNTS <= 100 ? " (node_exporter's, same run)" : ''}: ${watchUse.cpuPct <= cpuTarget ? 'met' : 'MISSED'}; RSS max ${watchUse.maxRssMb.toFixed(1)} MB vs <= ${rssTarget} MB: ${watchUse.maxRssMb <= rssTarget ? 'met' : 'MISSED'}; ratio to node_exporter: CPU ${(watchUse.cpuPct / neUse.cpuPct).toFixed(2)}x, RSS ${(watchUse.maxRssMb / neUse.maxRssMb).toFixed(2)}x; /metrics with one mount hung, 20 scrapes: p50 ${scrapes[9]!.toFixed(1)} ms, max ${scrapes[19]!.toFixed(1)} ms`,
      );
    }
  } finally {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // best effort
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      console.error(`could not remove ${dir}: ${(e as Error).message}`);
    }
  }
}
