// Imported first by the CLI (and by the npm bundle's entry, before it loads the command's file):
// for `scan`, `diagnose` and `heal`, the probe engine is started before anything else loads, so its start-up (a Node runtime for the fallback child, a few ms for the
// native helper) runs on the other core while the CLI loads its modules and reads the mount table,
// and the spawn itself forks a process that is still small. The probe runner adopts it when its
// registry and concurrency match; otherwise it is simply never used (its stdin closes when this
// process exits, and it exits).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { chooseEngine, spawnEngine, type ProbeEngineName } from './probe-engine.js';

interface Early {
  child: ChildProcess;
  engine: ProbeEngineName;
  registryDir: string;
  concurrency: number;
}
// On globalThis: the npm bundle's entry and its command file each carry a copy of this module, and
// the engine one of them starts must be the one the other adopts (and never started twice).
const slot = globalThis as { __enotconnEarlyEngine?: Early | null };

// The early-started engine for `registryDir` with at least `concurrency`, handed over once.
export function takeEarlyEngine(registryDir: string, concurrency: number): Early | null {
  const e = slot.__enotconnEarlyEngine ?? null;
  if (!e || e.registryDir !== registryDir || e.concurrency < concurrency || e.child.exitCode !== null) return null;
  slot.__enotconnEarlyEngine = null;
  return e;
}

// The run directory, by node-host.ts defaultDirs()'s rule (a mismatch only means no adoption).
function runDir(): string {
  const root = process.getuid?.() === 0;
  const runtime = process.env.XDG_RUNTIME_DIR;
  return (
    process.env.ENOTCONN_RUN_DIR ??
    (root ? '/run/enotconn' : runtime ? path.join(runtime, 'enotconn') : `/tmp/enotconn-${process.getuid?.()}`)
  );
}

// The commands that probe (their first non-option argument names them).
const PROBING = new Set(['scan', 'diagnose', 'heal']);

function start(argv: readonly string[]): void {
  if (slot.__enotconnEarlyEngine !== undefined) return; // started (or declined) already
  slot.__enotconnEarlyEngine = null;
  const args = argv.slice(2);
  const command = args.find((a) => !a.startsWith('-'));
  if (command === undefined || !PROBING.has(command)) return;
  if (args.some((a) => a === '--proc-root' || a.startsWith('--proc-root='))) return;
  let concurrency = 8; // scan's default --concurrency, and the runner's for reads (diagnose, heal)
  const i = args.indexOf('--concurrency');
  const v = i >= 0 ? args[i + 1] : args.find((a) => a.startsWith('--concurrency='))?.slice(14);
  if (command === 'scan' && v !== undefined && /^[1-9][0-9]{0,3}$/.test(v)) concurrency = Number(v);
  let engine: ReturnType<typeof chooseEngine>;
  try {
    engine = chooseEngine();
  } catch {
    return; // the runner reports a bad engine choice itself, as a clear error
  }
  const registryDir = path.join(runDir(), 'probes');
  const child = spawnEngine(engine.name, engine.helper, registryDir, concurrency);
  child.on('error', () => undefined);
  slot.__enotconnEarlyEngine = { child, engine: engine.name, registryDir, concurrency };
}

start(process.argv);
