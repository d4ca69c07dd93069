// Readers for /proc and /sys, over the Host (so a fixture tree serves them too).
import type { Host } from './types.js';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string; // R S D T t Z X I
  ppid: number;
  startTicks: number; // clock ticks after boot
}

// Clock ticks per second (USER_HZ); 100 on every mainstream Linux architecture (proc(5)).
export const USER_HZ = 100;

// Parse /proc/<pid>/stat; comm may contain spaces and ')' so fields start after the last ')'.
export function parseProcStat(pid: number, text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: Number(rest[1] ?? 0),
    startTicks: Number(rest[19] ?? 0),
  };
}

// Read and parse /proc/<pid>/stat.
export async function readProcStat(host: Host, pid: number): Promise<ProcStat | null> {
  const text = await host.readText(host.proc(pid, 'stat'));
  return text === null ? null : parseProcStat(pid, text);
}

// argv of a process from /proc/<pid>/cmdline (NUL-separated); [] for kernel threads.
export async function readCmdline(host: Host, pid: number): Promise<string[] | null> {
  const text = await host.readText(host.proc(pid, 'cmdline'));
  if (text === null) return null;
  const parts = text.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

// Real, effective uid and gid from /proc/<pid>/status.
export async function readProcIds(host: Host, pid: number): Promise<{ uid: number; gid: number } | null> {
  const text = await host.readText(host.proc(pid, 'status'));
  if (text === null) return null;
  const uid = /^Uid:\s+(\d+)/m.exec(text);
  const gid = /^Gid:\s+(\d+)/m.exec(text);
  if (!uid || !gid) return null;
  return { uid: Number(uid[1]), gid: Number(gid[1]) };
}

// The environment of a process (root only, or the same user), as a map.
export async function readEnviron(host: Host, pid: number): Promise<Record<string, string> | null> {
  const text = await host.readText(host.proc(pid, 'environ'));
  if (text === null) return null;
  const env: Record<string, string> = {};
  for (const kv of text.split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}
