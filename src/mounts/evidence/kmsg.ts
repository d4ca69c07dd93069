// The kernel log collector: OOM kills, NFS/CIFS server timeouts, hung tasks and segfaults, read
// from /dev/kmsg without blocking (Documentation/ABI/testing/dev-kmsg) and dated in wall-clock time.
import type { Host } from '../../host/types.js';

// One /dev/kmsg record: "priority,sequence,usec-since-boot,flags[,...];message".
export interface KmsgRecord {
  priority: number;
  seq: number;
  usec: number;
  message: string;
}

export type KernelEventKind =
  'oom-kill' | 'nfs-not-responding' | 'nfs-ok' | 'cifs-not-responding' | 'hung-task' | 'segfault' | 'fuse';

// A recognised kernel log line, with the pid/comm or server it names.
export interface KernelEvent {
  kind: KernelEventKind;
  seq: number;
  at: string | null; // ISO wall-clock time; null when boot time is unknown
  atMs: number | null;
  pid?: number;
  comm?: string;
  server?: string;
  line: string; // the message as the kernel printed it
}

// Parse one record; null for continuation lines (" KEY=value") and malformed ones.
export function parseKmsgRecord(text: string): KmsgRecord | null {
  const semi = text.indexOf(';');
  if (semi < 0) return null;
  const head = text.slice(0, semi).split(',');
  if (head.length < 3) return null;
  const pri = Number(head[0]);
  const seq = Number(head[1]);
  const usec = Number(head[2]);
  if (![pri, seq, usec].every(Number.isFinite)) return null;
  // Only the first line is the message; the kernel appends " SUBSYSTEM=..." dictionary lines.
  const message = text.slice(semi + 1).split('\n')[0]!;
  return { priority: pri & 7, seq, usec, message };
}

const OOM_KILLED =
  /(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): Killed process (\d+) \(([^)]*)\)/;
const OOM_KILL_SUMMARY = /^oom-kill:.*\btask=([^,]*),pid=(\d+)/;
const OOM_REAPER = /^oom_reaper: reaped process (\d+) \(([^)]*)\)/;
const NFS_NOT_RESPONDING = /^nfs: server (\S+) not responding/;
const NFS_OK = /^nfs: server (\S+) OK/;
const CIFS_NOT_RESPONDING = /CIFS:?(?: VFS:)? \\\\(\S+?) has not responded in (\d+) seconds/;
const HUNG_TASK = /^INFO: task (.+):(\d+) blocked for more than (\d+) seconds/;
// "sshfs[1234]: segfault at 0 ip ..." and "traps: rclone[1234] general protection fault ...".
const SEGFAULT = /^(?:traps: )?(.+)\[(\d+)\]:? (segfault at|general protection|trap )/;
const FUSE = /^fuse: (.*)$/;
// A word every pattern above needs, anywhere in a raw record ("pri,seq,usec,flags;message"): one
// test per record instead of a parse and nine (a kernel log holds thousands of records, nearly all
// of them about something else); a record without one is not even parsed. The native helper gets
// the same words and sends only the records that hold one.
export const KMSG_WORDS: readonly string[] = [
  'Killed process',
  'oom-kill:',
  'oom_reaper:',
  'nfs: server ',
  'CIFS',
  'INFO: task ',
  'segfault at',
  'general protection',
  'trap ',
  'fuse: ',
];
const ANY_RAW = new RegExp(KMSG_WORDS.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));

// Recognise the lines diagnose cares about; null for every other line.
export function recogniseKernelLine(rec: KmsgRecord, bootMs: number | null): KernelEvent | null {
  const msg = rec.message;
  const atMs = bootMs === null ? null : Math.round(bootMs + rec.usec / 1000);
  const base = { seq: rec.seq, at: atMs === null ? null : new Date(atMs).toISOString(), atMs, line: msg };
  let m: RegExpExecArray | null;
  if ((m = OOM_KILLED.exec(msg))) return { kind: 'oom-kill', ...base, pid: Number(m[1]), comm: m[2]! };
  if ((m = OOM_KILL_SUMMARY.exec(msg))) return { kind: 'oom-kill', ...base, pid: Number(m[2]), comm: m[1]! };
  if ((m = OOM_REAPER.exec(msg))) return null; // a follow-up of the kill line, nothing new
  if ((m = NFS_NOT_RESPONDING.exec(msg))) return { kind: 'nfs-not-responding', ...base, server: m[1]! };
  if ((m = NFS_OK.exec(msg))) return { kind: 'nfs-ok', ...base, server: m[1]! };
  if ((m = CIFS_NOT_RESPONDING.exec(msg))) return { kind: 'cifs-not-responding', ...base, server: m[1]! };
  if ((m = HUNG_TASK.exec(msg))) return { kind: 'hung-task', ...base, comm: m[1]!, pid: Number(m[2]) };
  if ((m = SEGFAULT.exec(msg))) return { kind: 'segfault', ...base, comm: m[1]!, pid: Number(m[2]) };
  if ((m = FUSE.exec(msg))) return { kind: 'fuse', ...base };
  return null;
}

export interface KmsgFindings {
  readable: boolean;
  events: KernelEvent[]; // oldest first
}

// Read the kernel log once, without blocking, and keep the recognised events.
// `bootMs` may be passed in when the caller already has it (it is read through the busy threadpool).
export async function collectKmsg(host: Host, bootMsKnown?: number | null, maxRecords = 20000): Promise<KmsgFindings> {
  const [records, bootMs] = await Promise.all([
    host.readKmsg(maxRecords, KMSG_WORDS),
    bootMsKnown !== undefined ? bootMsKnown : host.bootTimeMs(),
  ]);
  if (records === null) return { readable: false, events: [] };
  const events: KernelEvent[] = [];
  // One read of /dev/kmsg is one record; a recorded file (fixtures) yields many lines per read.
  // Continuation lines (" SUBSYSTEM=...") start with a space and are skipped by the parser.
  const lines = records.flatMap((r) => r.split('\n'));
  for (const text of lines) {
    if (!ANY_RAW.test(text)) continue;
    const rec = parseKmsgRecord(text);
    if (!rec) continue;
    const ev = recogniseKernelLine(rec, bootMs);
    if (!ev) continue;
    // The two OOM lines ("oom-kill:..." then "Killed process") describe one kill: keep the second.
    const prev = events.at(-1);
    if (
      ev.kind === 'oom-kill' &&
      prev?.kind === 'oom-kill' &&
      prev.pid === ev.pid &&
      prev.line.startsWith('oom-kill:')
    ) {
      events.pop();
    }
    events.push(ev);
  }
  return { readable: true, events };
}

// A process comm as the kernel records it: at most 15 bytes (TASK_COMM_LEN 16, with the NUL).
export function kernelComm(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base.slice(0, 15);
}

// The events that concern a daemon, matched by pid when it is known, else by comm.
// A pid match wins; without one, a comm match counts only after `sinceMs` (when the daemon was seen).
export function eventsForDaemon(
  events: readonly KernelEvent[],
  daemon: { pid: number | null; names: readonly string[]; sinceMs?: number | null },
): Array<{ event: KernelEvent; by: 'pid' | 'comm' }> {
  const comms = new Set(daemon.names.map(kernelComm));
  const byPid = events.filter(
    (e) =>
      daemon.pid !== null && e.pid === daemon.pid && (e.comm === undefined || comms.size === 0 || comms.has(e.comm)),
  );
  if (byPid.length > 0) return byPid.map((event) => ({ event, by: 'pid' as const }));
  const since = daemon.sinceMs ?? null;
  return events
    .filter(
      (e) =>
        e.pid !== undefined &&
        e.comm !== undefined &&
        comms.has(e.comm) &&
        (since === null || e.atMs === null || e.atMs >= since),
    )
    .map((event) => ({ event, by: 'comm' as const }));
}

// Whether an NFS server is still "not responding": its last message was not followed by "OK".
export function unansweredServers(events: readonly KernelEvent[]): Map<string, KernelEvent> {
  const open = new Map<string, KernelEvent>();
  for (const e of events) {
    if (e.server === undefined) continue;
    if (e.kind === 'nfs-not-responding' || e.kind === 'cifs-not-responding') open.set(e.server, e);
    else if (e.kind === 'nfs-ok') open.delete(e.server);
  }
  return open;
}
