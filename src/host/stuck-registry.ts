// The probe registry shared by every enotconn process on the host: one small file per mount whose
// probe is running, created (O_EXCL) by the probe engine when the probe STARTS and removed when it
// returns. A second scan, diagnose or heal therefore never starts another probe of a mount that
// is already being probed, hung or not (node_exporter's "stuck mounts", node_exporter#1498): a
// hung FUSE connection sees one waiting request, not one per process. The native helper writes
// the same files (native/enotconn-helper.c): "<pid> <start ticks> <since ms>\n".
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';

// A live holder of a mount's probe.
export interface ProbeHolder {
  pid: number;
  sinceMs: number;
}

// The registry file name for a mount key: a hash, so a hostile mountpoint cannot name a path.
export function registryName(key: string): string {
  return createHash('sha1').update(key).digest('hex').slice(0, 20);
}

// Start time (in clock ticks since boot) of a process, or null when it no longer exists.
export function processStartTicks(pid: number | 'self', procRoot = '/proc'): string | null {
  try {
    const stat = fs.readFileSync(path.join(procRoot, String(pid), 'stat'), 'latin1');
    // comm may hold spaces and parentheses: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall = index 19 after pid and comm
  } catch {
    return null;
  }
}

let myStart: string | null = null;
const madeDirs = new Set<string>();
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

// The live holder recorded in `file`, or null when there is none (a dead holder's file is removed).
export function readHolder(file: string): ProbeHolder | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch {
    return null;
  }
  const [pid, start, since] = text.trim().split(' ');
  if (pid !== undefined && start !== undefined && processStartTicks(Number(pid)) === start) {
    return { pid: Number(pid), sinceMs: Number(since) };
  }
  try {
    fs.unlinkSync(file); // its holder is gone (or the pid was reused): take it over
  } catch {
    // raced with its owner
  }
  return null;
}

// Claim mount `name` for a probe this process starts now: null when claimed (or when there is no
// usable registry, which leaves only the per-process rule), else the live process holding it.
export function claimProbe(dir: string, name: string): ProbeHolder | null {
  if (dir === '' || name === '-') return null;
  const file = path.join(dir, name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      if (!madeDirs.has(dir)) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
        madeDirs.add(dir);
      }
      const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
      myStart ??= processStartTicks('self') ?? '0';
      fs.writeSync(fd, `${process.pid} ${myStart} ${Date.now()}\n`);
      fs.closeSync(fd);
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return null;
    }
    const holder = readHolder(file);
    if (holder) return holder;
  }
  return null;
}

// Release a claim once the probe returned.
export function releaseProbe(dir: string, name: string): void {
  if (dir === '' || name === '-') return;
  try {
    fs.unlinkSync(path.join(dir, name));
  } catch {
    // already gone
  }
}
