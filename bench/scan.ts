// bench/scan.ts: enotconn scan on a host with N bindfs mounts (default 200), 10 of them killed
// (dead) and 5 stopped (hung), beside findmnt, df (under an outer limit) and the first scrape of
// Debian's prometheus-node-exporter filesystem collector, in the same run. Prints figures and
// ratios; it asserts nothing (benchmarks are not tests). Needs root, bindfs and fusermount3.
//   node dist/bench/scan.js [--mounts 200] [--timeout 2s] [--runs 5]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScanReport } from '../src/mounts/scan.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(REPO, 'dist/src/cli/main.js');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const N = Number(arg('--mounts', '200'));
const TIMEOUT = arg('--timeout', '2s');
const TIMEOUT_MS = TIMEOUT.endsWith('ms') ? Number(TIMEOUT.slice(0, -2)) : Number(TIMEOUT.replace(/s$/, '')) * 1000;
const RUNS = Number(arg('--runs', '5'));

interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  timedOut: boolean;
}

// Run argv with an outer limit, timing the wall clock; a run past the limit is killed and reported.
function timed(argv: string[], limitMs: number, env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function isMounted(mp: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'latin1').includes(` ${mp} `);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/scan needs root (FUSE mounts, kill, SIGSTOP)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-bench-scan-'));
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'file'), 'data');
  const pids: number[] = [];
  const mps: string[] = [];
  const env = {
    ...process.env,
    ENOTCONN_RUN_DIR: path.join(dir, 'run'),
    ENOTCONN_STATE_DIR: path.join(dir, 'state'),
    NO_COLOR: '1',
  };
  const cleanup = (): void => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const mp of mps) spawnSync('fusermount3', ['-uz', mp]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const mp = path.join(dir, `m${String(i).padStart(3, '0')}`);
      fs.mkdirSync(mp);
      const child = spawn('bindfs', ['-f', src, mp], { stdio: 'ignore', detached: true });
      child.unref();
      pids.push(child.pid!);
      mps.push(mp);
    }
    const deadline = Date.now() + 60000;
    while (mps.some((mp) => !isMounted(mp)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    console.log(`# bench/scan: ${N} bindfs mounts ready in ${Math.round(performance.now() - t0)}ms`);
    console.log(
      `# machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}, ${new Date().toISOString()}`,
    );

    // 1. All healthy.
    const healthyRuns: number[] = [];
    let allHealthyOk = true;
    for (let r = 0; r < RUNS; r++) {
      const res = await timed([process.execPath, CLI, 'scan', '--json', '--timeout', TIMEOUT, dir], 30000, env);
      healthyRuns.push(res.ms);
      const rep = JSON.parse(res.stdout) as ScanReport;
      allHealthyOk &&= rep.mounts.length === N && rep.mounts.every((m) => m.state === 'healthy');
    }
    const fm0 = await timed(['findmnt', '-rn'], 30000);
    const df0 = await timed(['df', '-a'], 10000);
    console.log(`\n## all ${N} healthy`);
    console.log(
      `enotconn scan: median ${median(healthyRuns).toFixed(0)}ms over ${RUNS} runs (min ${Math.min(...healthyRuns).toFixed(0)}ms), states right: ${allHealthyOk}`,
    );
    console.log(`findmnt:       ${fm0.ms.toFixed(0)}ms (lists, probes nothing)`);
    console.log(`df -a:         ${df0.ms.toFixed(0)}ms${df0.timedOut ? ' (HUNG: killed at the 10s limit)' : ''}`);

    // 2. Kill 10 daemons and stop 5.
    const killed = new Set(mps.slice(0, 10));
    const stopped = new Set(mps.slice(10, 15));
    pids.slice(0, 10).forEach((p) => process.kill(p, 'SIGKILL'));
    pids.slice(10, 15).forEach((p) => process.kill(p, 'SIGSTOP'));
    await new Promise((r) => setTimeout(r, 300));
    const faulty = await timed([process.execPath, CLI, 'scan', '--json', '--timeout', TIMEOUT, dir], 60000, env);
    const rep = JSON.parse(faulty.stdout) as ScanReport;
    const wrong = rep.mounts.filter((m) => {
      const want = killed.has(m.mountpoint) ? 'dead' : stopped.has(m.mountpoint) ? 'hung' : 'healthy';
      return m.state !== want || (want === 'dead' && m.errno !== 'ENOTCONN');
    });
    const second = await timed([process.execPath, CLI, 'scan', '--json', '--timeout', TIMEOUT, dir], 60000, env);
    const rep2 = JSON.parse(second.stdout) as ScanReport;
    const skipped = rep2.mounts.filter((m) => m.probeSkipped).length;
    const fm = await timed(['findmnt', '-rn'], 30000);
    const df = await timed(['df', '-a'], 10000);

    // 3. node_exporter's filesystem collector, first scrape, same mounts.
    const port = 19100 + (process.pid % 500);
    const ne = spawn(
      'prometheus-node-exporter',
      [
        '--collector.disable-defaults',
        '--collector.filesystem',
        `--web.listen-address=127.0.0.1:${port}`,
        '--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys)($|/)',
      ],
      { stdio: 'ignore', detached: true },
    );
    let neLine = 'prometheus-node-exporter: not installed';
    if (ne.pid !== undefined) {
      await new Promise((r) => setTimeout(r, 700));
      const scrape = await timed(
        ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/metrics`],
        30000,
      );
      neLine = `node_exporter first scrape: ${scrape.ms.toFixed(0)}ms (HTTP ${scrape.stdout || 'none'}${scrape.timedOut ? ', no answer in 30s, killed' : ''})`;
      const again = await timed(
        ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/metrics`],
        30000,
      );
      neLine += `; second scrape: ${again.ms.toFixed(0)}ms`;
      try {
        process.kill(-ne.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    const limit = TIMEOUT_MS + 500;
    console.log(`\n## ${N} mounts: 10 killed (dead), 5 stopped (hung), probe timeout ${TIMEOUT}`);
    console.log(
      `enotconn scan: ${faulty.ms.toFixed(0)}ms, exit ${faulty.code}, states right: ${wrong.length === 0}${wrong.length ? ` (${wrong.length} wrong)` : ''} (target <= ${limit}ms: ${faulty.ms <= limit ? 'met' : 'MISSED'})`,
    );
    console.log(`enotconn scan again (stuck probes skipped: ${skipped}): ${second.ms.toFixed(0)}ms`);
    console.log(`findmnt:       ${fm.ms.toFixed(0)}ms (lists, probes nothing: cannot tell dead from healthy)`);
    console.log(
      `df -a:         ${df.timedOut ? 'HUNG: killed at the 10s outer limit' : `${df.ms.toFixed(0)}ms, exit ${df.code}`}`,
    );
    console.log(neLine);
    const healthyMed = median(healthyRuns);
    console.log(`\n## ratios`);
    console.log(
      `healthy: enotconn ${healthyMed.toFixed(0)}ms (target <= 250ms: ${healthyMed <= 250 ? 'met' : 'MISSED'}) vs findmnt ${fm0.ms.toFixed(0)}ms = ${(healthyMed / fm0.ms).toFixed(1)}x; vs df ${df0.ms.toFixed(0)}ms = ${(healthyMed / df0.ms).toFixed(1)}x`,
    );
    console.log(`faulty:  df / enotconn = ${df.timedOut ? '>' : ''}${(df.ms / faulty.ms).toFixed(1)}x`);
  } finally {
    cleanup();
  }
}

await main();
