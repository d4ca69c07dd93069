// Benchmark: diagnose's wall time on a host with 2,000 extra idle processes, for a healthy FUSE
// mount (in-process and the whole CLI) and for a hung one (its daemon stopped), beside its peers in
// the same run: `node -e 0` and `fuser -m` (which walks the same /proc for the mount's users).
// Target: the healthy CLI diagnose <= 250 ms. The CLI is the npm bundle (package.json's bin); each
// figure's line ends with the load average. Prints figures; asserts nothing (no timing in tests).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeHost } from '../src/host/node-host.js';
import { diagnose } from '../src/mounts/diagnose.js';
import { BUNDLE_CLI as CLI, againWithoutExtraCa, load, machine } from './machine.js';

const IDLE = Number(process.env.BENCH_IDLE ?? 2000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function isMounted(mp: string): boolean {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === mp);
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  return `median ${med.toFixed(0)} ms, min ${s[0]!.toFixed(0)} ms, max ${s.at(-1)!.toFixed(0)} ms (${s.length} runs)`;
}

async function timeRuns(mp: string, label: string, fresh: boolean): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // A fresh run dir per run, so a stuck probe from the last run does not short-circuit this one.
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-bench-run-'));
    const host = new NodeHost({
      runDir: fresh ? runDir : path.join(os.tmpdir(), 'enc-bench-shared'),
      stateDir: runDir,
    });
    const t0 = performance.now();
    const d = await diagnose(host, mp);
    out.push(performance.now() - t0);
    host.close();
    if (i === 0) console.log(`  ${label}: state ${d.state}, causes [${d.causes.map((c) => c.id).join(', ')}]`);
  }
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-bench-'));
const src = path.join(dir, 'src');
const mp = path.join(dir, 'mnt');
fs.mkdirSync(src);
fs.mkdirSync(mp);
const idle: ChildProcess[] = [];
let daemon: ChildProcess | null = null;
try {
  const before = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  for (let i = 0; i < IDLE; i++) {
    idle.push(spawn('sleep', ['600'], { stdio: 'ignore', detached: true }));
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 10));
  }
  await waitFor(() => idle.every((c) => c.pid !== undefined), 30000);
  const total = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  daemon = spawn('bindfs', ['-f', src, mp], { stdio: 'ignore', detached: true });
  await waitFor(() => isMounted(mp), 15000);
  console.log(`diagnose bench ${new Date().toISOString()}: ${machine()}; CLI dist/bundle/enotconn.cjs; ${load()}`);
  console.log(`processes on the host: ${before} before, ${total} with ${IDLE} idle sleep children`);
  const healthy = await timeRuns(mp, 'healthy bindfs mount', true);
  console.log(`  healthy, in-process: ${stats(healthy)}; ${load()}`);
  const wall = (argv: string[], env: NodeJS.ProcessEnv = process.env): number[] => {
    const xs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore', env });
      xs.push(performance.now() - t0);
    }
    return xs;
  };
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cliEnv = {
    ...process.env,
    ENOTCONN_RUN_DIR: path.join(dir, 'run-cli'),
    ENOTCONN_STATE_DIR: path.join(dir, 'st'),
  };
  const cli = wall([process.execPath, CLI, 'diagnose', '--json', mp], cliEnv);
  const nodeFloor = wall([process.execPath, '-e', '0']);
  const fuser = wall(['fuser', '-m', mp]);
  console.log(
    `  healthy, enotconn diagnose CLI: ${stats(cli)}; target <= 250 ms: ${med(cli) <= 250 ? 'met' : 'MISSED'}; ${load()}`,
  );
  console.log(`  node -e 0: ${stats(nodeFloor)}; fuser -m: ${stats(fuser)}`);
  console.log(
    `  ratios: CLI diagnose = ${(med(cli) / med(nodeFloor)).toFixed(2)}x node -e 0, ${(med(cli) / med(fuser)).toFixed(2)}x fuser -m`,
  );
  process.kill(daemon.pid!, 'SIGSTOP');
  const hung = await timeRuns(mp, 'hung bindfs mount (daemon SIGSTOPped), fresh probe each run', true);
  console.log(`  hung, fresh probe (1 s probe timeout included): ${stats(hung)}; ${load()}`);
  const stuck = await timeRuns(mp, 'hung bindfs mount, earlier probe still stuck', false);
  console.log(`  hung, stuck probe reused: ${stats(stuck)}; ${load()}`);
} finally {
  if (daemon?.pid !== undefined) {
    try {
      process.kill(daemon.pid, 'SIGCONT');
      process.kill(daemon.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  spawnSync('fusermount3', ['-uz', mp]);
  for (const c of idle) if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}
await againWithoutExtraCa();
process.exit(0);
