// bench/scan.ts: the whole `enotconn scan` CLI on real bindfs mounts, beside its peers in the same
// run: `node -e 0` (the floor of any Node CLI), `df -a`, `findmnt` and the first scrape of Debian's
// prometheus-node-exporter filesystem collector (installed when missing). Figures and ratios for
// each probe engine (the native helper and the Node probe child). The CLI is the npm bundle
// (dist/bundle/enotconn.cjs, package.json's bin). Each figure's line ends with the load average
// at that moment. It asserts nothing: benchmarks are not tests. Needs root, bindfs and fusermount3. Run under the live-test lock:
//   node dist/bench/scan.js [--small 200] [--large 1000] [--dead 50] [--hung 25] [--runs 5]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ScanReport } from '../src/mounts/scan.js';
import { helperPath } from '../src/host/probe-engine.js';
import { BUNDLE_CLI as CLI, REPO, againWithoutExtraCa, load, machine } from './machine.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : dflt;
}
const SMALL = arg('--small', 200);
const LARGE = arg('--large', 1000);
const DEAD = arg('--dead', 50);
const HUNG = arg('--hung', 25);
const RUNS = arg('--runs', 5);

interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  timedOut: boolean;
}

// Run argv with an outer limit, timing the wall clock; a run past the limit is killed and reported.
export function timed(argv: string[], limitMs: number, env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], env, detached: true });
    let stdout = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      // A df stuck in the kernel may never be reaped: report it and move on.
      setTimeout(() => resolve({ ms: performance.now() - t0, code: null, stdout, timedOut }), 200);
    }, limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, code, stdout, timedOut });
    });
  });
}

async function best(
  argv: string[],
  env: NodeJS.ProcessEnv,
  runs = RUNS,
): Promise<{ best: number; median: number; last: Timed }> {
  const ms: number[] = [];
  let last: Timed | null = null;
  for (let i = 0; i < runs; i++) {
    last = await timed(argv, 60000, env);
    ms.push(last.ms);
  }
  ms.sort((a, b) => a - b);
  return { best: ms[0]!, median: ms[Math.floor(ms.length / 2)]!, last: last! };
}

function isMounted(mp: string, text: string): boolean {
  return text.includes(` ${mp} `);
}

const f0 = (x: number): string => x.toFixed(0);
const f2 = (x: number): string => x.toFixed(2);
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

// node_exporter's filesystem collector: the time of its first scrape over the same mounts.
async function nodeExporterScrape(): Promise<string> {
  let bin = '/usr/bin/prometheus-node-exporter';
  if (!fs.existsSync(bin)) {
    spawnSync('flock', ['/tmp/enotconn-apt.lock', 'apt-get', 'install', '-y', '-qq', 'prometheus-node-exporter'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (!fs.existsSync(bin)) return 'node_exporter: not installed (apt-get failed)';
  }
  bin = fs.realpathSync(bin);
  const port = 19100 + (process.pid % 500);
  const ne = spawn(
    bin,
    [
      '--collector.disable-defaults',
      '--collector.filesystem',
      `--web.listen-address=127.0.0.1:${port}`,
      '--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys)($|/)',
    ],
    { stdio: 'ignore', detached: true },
  );
  try {
    for (let i = 0; i < 100; i++) {
      const up = await timed(['curl', '-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`], 2000);
      if (up.code === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = `http://127.0.0.1:${port}/metrics`;
    const first = await timed(['curl', '-s', '-o', '/dev/null', url], 30000);
    const second = await timed(['curl', '-s', '-o', '/dev/null', url], 30000);
    return `node_exporter filesystem scrape: first ${f0(first.ms)} ms, second ${f0(second.ms)} ms (curl included)`;
  } finally {
    try {
      process.kill(-ne.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/scan needs root (FUSE mounts, kill, SIGSTOP)');
  const engines = helperPath(path.join(REPO, 'dist/src/host')) ? (['native', 'node'] as const) : (['node'] as const);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-bench-scan-'));
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'file'), 'data');
  const pids: number[] = [];
  const mps: string[] = [];
  const envFor = (engine: string): NodeJS.ProcessEnv => ({
    ...process.env,
    ENOTCONN_RUN_DIR: path.join(dir, `run-${engine}-${Math.random().toString(16).slice(2)}`),
    ENOTCONN_STATE_DIR: path.join(dir, 'state'),
    ENOTCONN_PROBE_ENGINE: engine,
    NO_COLOR: '1',
  });
  const cleanup = (): void => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const mp of mps) spawnSync('umount', ['-l', '--no-canonicalize', mp]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const mountUpTo = async (n: number): Promise<void> => {
    for (let i = mps.length; i < n; i++) {
      const mp = path.join(dir, `m${String(i).padStart(4, '0')}`);
      fs.mkdirSync(mp);
      const child = spawn('bindfs', ['-f', src, mp], { stdio: 'ignore', detached: true });
      child.unref();
      pids.push(child.pid!);
      mps.push(mp);
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
    }
    const deadline = Date.now() + 120000;
    for (;;) {
      const text = fs.readFileSync('/proc/self/mountinfo', 'latin1');
      if (mps.every((mp) => isMounted(mp, text)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const scanArgv = (json: boolean, timeout = '2s'): string[] => [
    process.execPath,
    CLI,
    'scan',
    ...(json ? ['--json'] : []),
    '--timeout',
    timeout,
    dir,
  ];
  const allHealthy = (t: Timed, n: number): boolean => {
    const rep = JSON.parse(t.stdout) as ScanReport;
    return rep.mounts.length === n && rep.mounts.every((m) => m.state === 'healthy');
  };
  try {
    console.log(`# bench/scan ${new Date().toISOString()}: ${machine()}; CLI ${path.relative(REPO, CLI)}; ${load()}`);
    const nodeFloor = await best([process.execPath, '-e', '0'], process.env);
    const version = await best([process.execPath, CLI, '--version'], process.env);
    console.log(`\n## start-up (best of ${RUNS})`);
    console.log(`node -e 0:           ${f0(nodeFloor.best)} ms`);
    console.log(
      `enotconn --version:  ${f0(version.best)} ms (${f2(version.best / nodeFloor.best)}x node -e 0); ${load()}`,
    );

    await mountUpTo(SMALL);
    const floor = await best([process.execPath, '-e', '0'], process.env); // again, beside the scans
    const df = await best(['df', '-a'], process.env);
    const fm = await best(['findmnt', '-rn'], process.env);
    const ne = await nodeExporterScrape();
    console.log(`\n## ${SMALL} healthy bindfs mounts, whole CLI (best of ${RUNS}, median in brackets)`);
    console.log(`node -e 0:  ${f0(floor.best)} ms; ${load()}`);
    console.log(`df -a:      ${f0(df.best)} ms`);
    console.log(`findmnt:    ${f0(fm.best)} ms (lists, probes nothing)`);
    console.log(ne);
    const small = new Map<string, number>();
    for (const engine of engines) {
      const j = await best(scanArgv(true), envFor(engine));
      const h = await best(scanArgv(false), envFor(engine));
      small.set(engine, j.best);
      console.log(
        `enotconn scan --json (${engine}): ${f0(j.best)} ms [${f0(j.median)}], table ${f0(h.best)} ms [${f0(h.median)}]; states right: ${allHealthy(j.last, SMALL)}; ${f2(j.best / floor.best)}x node -e 0, ${f2(j.best / df.best)}x df -a, ${f2(j.best / fm.best)}x findmnt; target <= 100 ms: ${verdict(j.best <= 100)}; ${load()}`,
      );
    }

    await mountUpTo(LARGE);
    const dfL = await best(['df', '-a'], process.env, 3);
    const fmL = await best(['findmnt', '-rn'], process.env, 3);
    console.log(`\n## ${LARGE} healthy bindfs mounts (best of ${RUNS})`);
    console.log(`df -a: ${f0(dfL.best)} ms; findmnt: ${f0(fmL.best)} ms`);
    for (const engine of engines) {
      const j = await best(scanArgv(true), envFor(engine));
      const per = (j.best - small.get(engine)!) / (LARGE - SMALL);
      console.log(
        `enotconn scan --json (${engine}): ${f0(j.best)} ms [${f0(j.median)}]; states right: ${allHealthy(j.last, LARGE)}; added cost per extra mount (${SMALL} -> ${LARGE}): ${per.toFixed(3)} ms (df -a: ${((dfL.best - df.best) / (LARGE - SMALL)).toFixed(3)} ms); target <= 0.1 ms: ${verdict(per <= 0.1)}; ${load()}`,
      );
    }

    const killed = new Set(mps.slice(0, DEAD));
    const stopped = new Set(mps.slice(DEAD, DEAD + HUNG));
    pids.slice(0, DEAD).forEach((p) => process.kill(p, 'SIGKILL'));
    pids.slice(DEAD, DEAD + HUNG).forEach((p) => process.kill(p, 'SIGSTOP'));
    await new Promise((r) => setTimeout(r, 500));
    console.log(`\n## ${LARGE} mounts: ${DEAD} killed (dead), ${HUNG} stopped (hung), --timeout 1s`);
    for (const engine of engines) {
      const r = await timed(scanArgv(true, '1s'), 60000, envFor(engine)); // a fresh registry: every probe is new
      const rep = JSON.parse(r.stdout) as ScanReport;
      const wrong = rep.mounts.filter((m) => {
        const want = killed.has(m.mountpoint) ? 'dead' : stopped.has(m.mountpoint) ? 'hung' : 'healthy';
        return m.state !== want || (want === 'dead' && m.errno !== 'ENOTCONN');
      });
      console.log(
        `enotconn scan --json (${engine}): ${f0(r.ms)} ms, exit ${r.code}, states right: ${wrong.length === 0 && rep.mounts.length === LARGE}${wrong.length ? ` (${wrong.length} wrong)` : ''}; target <= 1300 ms: ${verdict(r.ms <= 1300 && wrong.length === 0)}; ${load()}`,
      );
    }
    const dfF = await timed(['df', '-a'], 5000);
    console.log(`df -a: ${dfF.timedOut ? 'HUNG (killed at a 5 s outer limit)' : `${f0(dfF.ms)} ms`}`);
  } finally {
    cleanup();
  }
}

await main();
await againWithoutExtraCa();
process.exit(0);
