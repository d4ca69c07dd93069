// Imported first by the CLI: for `scan`, the probe engine is started before anything else loads,
// so its start-up (a Node runtime for the fallback child, a few ms for the native helper) runs on
// the other core while the CLI loads its modules and reads the mount table. The probe runner
// adopts it when its registry and concurrency match; otherwise it is simply never used (its
// stdin closes when this process exits, and it exits).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { chooseEngine, spawnEngine, type ProbeEngineName } from './probe-engine.js';

interface Early {
  child: ChildProcess;
  engine: ProbeEngineName;
  registryDir: string;
  concurrency: number;
}
let early: Early | null = null;

// The early-started engine for `registryDir` with at least `concurrency`, handed over once.
export function takeEarlyEngine(registryDir: string, concurrency: number): Early | null {
  const e = early;
  if (!e || e.registryDir !== registryDir || e.concurrency < concurrency || e.child.exitCode !== null) return null;
  early = null;
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

function start(argv: readonly string[]): void {
  const args = argv.slice(2);
  if (!args.includes('scan') || args.some((a) => a === '--proc-root' || a.startsWith('--proc-root='))) return;
  let concurrency = 8; // scan's default --concurrency
  const i = args.indexOf('--concurrency');
  const v = i >= 0 ? args[i + 1] : args.find((a) => a.startsWith('--concurrency='))?.slice(14);
  if (v !== undefined && /^[1-9][0-9]{0,3}$/.test(v)) concurrency = Number(v);
  let engine: ReturnType<typeof chooseEngine>;
  try {
    engine = chooseEngine();
  } catch {
    return; // the runner reports a bad engine choice itself, as a clear error
  }
  const registryDir = path.join(runDir(), 'probes');
  const child = spawnEngine(engine.name, engine.helper, registryDir, concurrency);
  child.on('error', () => undefined);
  early = { child, engine: engine.name, registryDir, concurrency };
}

start(process.argv);
