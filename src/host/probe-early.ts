// Imported first by the CLI (and by the npm bundle's entry, before it loads the command's file):
// for `scan`, `diagnose` and `heal`, the probe engine is started before anything else loads, so
// its start-up (a Node runtime for the fallback child, a few ms for the native helper) runs on
// the other core while the CLI loads its modules and reads the mount table,
// and the spawn itself forks a process that is still small. The probe runner adopts it when its
// registry and concurrency match; otherwise it is simply never used (its stdin closes when this
// process exits, and it exits).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfo, type MountInfo } from '../mounts/mountinfo/parse.js';
import { probeTarget, selectMounts, topMounts } from '../mounts/select.js';
import { checkDuration } from '../util/duration.js';
import { FIELD_LETTERS } from './proc-entry.js';
import { probeIds, probeLine, tableLine } from './probe-protocol.js';
import { chooseEngine, spawnEngine, type ProbeEngineName } from './probe-engine.js';
import { pidRanges, type PidRange } from './pid-ranges.js';
import { registryName } from './stuck-registry.js';

interface Early {
  child: ChildProcess;
  engine: ProbeEngineName;
  registryDir: string;
  concurrency: number;
  tables: EarlyTable[];
  probes: EarlyProbe[];
}

// The mount table the entry read for a scan's early probes, handed over once (null when none was
// read): the scan takes it instead of reading its own, so the table it reports is the one its
// probes were sent from.
export function takeEarlyMountinfo(): string | null {
  const slotted = slot.__enotconnEarlyMountinfo ?? null;
  if (slotted === null) return null;
  slot.__enotconnEarlyMountinfo = { ...slotted, handed: true };
  return slotted.handed ? null : slotted.text;
}

// The entry's parse of `text`, when it is the table it handed over (parsed once, not twice).
export function earlyParse(text: string): MountInfo[] | null {
  const e = slot.__enotconnEarlyMountinfo ?? null;
  if (e === null || e.text !== text) return null;
  slot.__enotconnEarlyMountinfo = null;
  return e.mounts;
}

// The mount table the entry read and parsed.
export interface EarlyMountinfo {
  text: string;
  mounts: MountInfo[];
  handed?: boolean;
}

// A probe sent with the engine for a plain `scan` (ids 1..n: the runner's own start after them).
export interface EarlyProbe {
  id: number;
  key: string;
  path: string;
  uid?: number;
  gid?: number;
  hash: string;
  timeoutMs: number;
  sentAt: number; // performance.now()
  sentWallMs: number; // Date.now()
}

// A process table request sent with the engine, before the command's code is even read: one per
// pid range (pid-ranges.ts), with ids after the early probes'.
export interface EarlyTable {
  id: number;
  letters: string;
  timeoutMs: number;
  range: PidRange;
}

// What scan asks of every process when a FUSE mount is covered (argv, stat and FUSE connections,
// process-table.ts readProcessTable with fuse): the native helper walks /proc on the other core
// while this process loads and compiles the command, instead of after it has read the mount table.
const SCAN_TABLE = {
  letters: (['argv', 'stat', 'fuse'] as const).map((f) => FIELD_LETTERS[f]).join(''),
  timeoutMs: 1000,
} as const;

// The pids now (readdir of /proc names processes only; it never waits on a filesystem).
function listPids(): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57)
      .map(Number);
  } catch {
    return [];
  }
}

// On globalThis: the npm bundle's entry and its command file each carry a copy of this module, and
// the engine one of them starts must be the one the other adopts (and never started twice).
const slot = globalThis as { __enotconnEarlyEngine?: Early | null; __enotconnEarlyMountinfo?: EarlyMountinfo | null };

// The early-started engine for `registryDir` with at least `concurrency`, handed over once.
export function takeEarlyEngine(registryDir: string, concurrency: number): Early | null {
  const e = slot.__enotconnEarlyEngine ?? null;
  if (!e || e.registryDir !== registryDir || e.concurrency < concurrency || e.child.exitCode !== null) return null;
  slot.__enotconnEarlyEngine = null;
  return e;
}

// The mount table as text, or null. mountinfo is the kernel's own list and never waits on a
// filesystem (proc(5)).
function mountTable(): string | null {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'latin1');
  } catch {
    return null;
  }
}

// What a plain `scan` covers: the default types, at or under its path arguments (resolved as
// scan.ts resolves them), with no flag but --json, --npd, --timeout and --concurrency; null for
// any other scan (it sends its own probes).
export function plainScan(args: readonly string[]): { timeoutMs: number; paths: string[] } | null {
  let timeout = '2s'; // scan's default --timeout
  const paths: string[] = [];
  const flags = new Set<string>();
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (name === '--json' || name === '--npd') {
      if (eq > 0) return null;
      flags.add(name);
    } else if (name === '--timeout' || name === '--concurrency') {
      const value = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) return null;
      if (name === '--timeout') timeout = value;
      else if (!/^[1-9][0-9]*$/.test(value)) return null;
    } else if (a.startsWith('-')) return null;
    else paths.push(path.resolve(a));
  }
  // Only a command line the scan accepts: one it refuses (exit 2) must not have probed anything.
  if (flags.has('--json') && flags.has('--npd')) return null;
  const d = checkDuration(timeout, {});
  return 'ms' in d && d.ms > 0 ? { timeoutMs: d.ms, paths } : null;
}

// A plain scan's probes of the mounts it covers (scan.ts's selection, from the same table), to
// send so they run while this process loads the scan; the runner adopts each one whose mount it
// probes.
function scanProbes(
  all: readonly MountInfo[],
  timeoutMs: number,
  paths: string[],
  firstId: number,
): { probes: EarlyProbe[]; lines: string[] } {
  const top = topMounts(all);
  const selfUid = process.getuid?.() ?? 0;
  const out: EarlyProbe[] = [];
  const lines: string[] = [];
  for (const m of selectMounts(all, { all: false, types: null, ...(paths.length > 0 ? { paths } : {}) })) {
    if (top.get(m.mountpoint) !== m) continue;
    const t = probeTarget(m, selfUid);
    const id = firstId + out.length;
    const hash = registryName(t.key);
    lines.push(probeLine({ id, timeoutMs, ...probeIds(t, selfUid), hash, path: t.path }));
    out.push({ id, ...t, hash, timeoutMs, sentAt: performance.now(), sentWallMs: Date.now() });
  }
  return { probes: out, lines };
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
  const tables: EarlyTable[] = [];
  let probes: EarlyProbe[] = [];
  const plain = command === 'scan' ? plainScan(args.slice(args.indexOf(command))) : null;
  const text = command === 'scan' ? mountTable() : null;
  if (text !== null) {
    child.stdin?.on('error', () => undefined);
    // Only a table with a FUSE mount makes the scan read every process (for the daemons). It is
    // asked first, in pid ranges: the helper takes requests in order, and the walk then runs on a
    // thread per range while the probes run on the others.
    const wantTable = engine.name === 'native' && / - fuse(?:\.|blk | )/.test(text);
    const lines: string[] = [];
    for (const range of wantTable ? pidRanges(listPids()) : []) {
      const t: EarlyTable = { id: tables.length + 1, ...SCAN_TABLE, range };
      tables.push(t);
      lines.push(tableLine({ ...t, afterPid: range[0], lastPid: range[1], hexPrefix: '-' }));
    }
    // The Node probe child (the fallback) answers only once its runtime and workers have booted:
    // probes sent to it now would start their deadlines ~60 ms before it can take them, and a run
    // of hung mounts then cost the healthy ones behind it their answer. The runner sends its own.
    if (plain !== null && engine.name === 'native') {
      try {
        const mounts = parseMountinfo(text);
        const p = scanProbes(mounts, plain.timeoutMs, plain.paths, tables.length + 1);
        probes = p.probes;
        lines.push(...p.lines);
        slot.__enotconnEarlyMountinfo = { text, mounts };
      } catch {
        probes = []; // a table the entry cannot parse: the scan reports it itself
      }
    }
    if (lines.length > 0) child.stdin?.write(`${lines.join('\n')}\n`);
  }
  slot.__enotconnEarlyEngine = { child, engine: engine.name, registryDir, concurrency, tables, probes };
}

start(process.argv);
