// The stuck-probe registry: one small file per mount whose probe exceeded its timeout, written by
// the probe child that still holds it and removed when that probe returns. Other enotconn
// processes read it, so a second `scan` never starts a new probe on a mount whose earlier probe
// is still blocked in the kernel (node_exporter's "stuck mounts", node_exporter#1498).
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';

export interface StuckEntry {
  key: string;
  path: string;
  pid: number;
  pidStart: string; // field 22 of /proc/<pid>/stat, guards against pid reuse
  sinceMs: number;
}

function fileFor(dir: string, key: string): string {
  return path.join(dir, `${createHash('sha1').update(key).digest('hex').slice(0, 20)}.json`);
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

// Record that this process holds a stuck probe of `key`.
export function registerStuck(dir: string, entry: StuckEntry): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const file = fileFor(dir, entry.key);
    fs.writeFileSync(`${file}.tmp${process.pid}`, JSON.stringify(entry));
    fs.renameSync(`${file}.tmp${process.pid}`, file);
  } catch {
    // Without a writable run dir the registry is per-process only; the probe itself is unaffected.
  }
}

// Forget a stuck probe once it returned.
export function clearStuck(dir: string, key: string): void {
  try {
    fs.unlinkSync(fileFor(dir, key));
  } catch {
    // already gone
  }
}

// The live entry for `key`, or null. A stale entry (its process is gone) is removed.
export function findStuck(dir: string, key: string): StuckEntry | null {
  const file = fileFor(dir, key);
  let entry: StuckEntry;
  try {
    entry = JSON.parse(fs.readFileSync(file, 'utf8')) as StuckEntry;
  } catch {
    return null;
  }
  if (entry.key === key && processStartTicks(entry.pid) === entry.pidStart) return entry;
  try {
    fs.unlinkSync(file);
  } catch {
    // raced with its owner
  }
  return null;
}
