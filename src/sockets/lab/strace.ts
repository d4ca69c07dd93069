// Parse `strace -f -o FILE` output into the failing socket syscalls, attributed to the lab
// operation whose marker (a write of "enc-lab-op:NAME" to /dev/null) came last.
import { errnoByName, errnoByNumber } from '../../knowledge/errnos.js';
import type { KernelCall } from './types.js';

export const TRACED_SYSCALLS = [
  'connect',
  'accept',
  'accept4',
  'read',
  'readv',
  'write',
  'writev',
  'shutdown',
  'sendto',
  'recvfrom',
  'sendmsg',
  'recvmsg',
  'getsockopt',
];

// The argv prefix that traces a command for the lab.
export function straceArgv(outFile: string): string[] {
  return ['strace', '-f', '-qq', '-s', '200', '-o', outFile, '-e', `trace=${TRACED_SYSCALLS.join(',')}`];
}

// Errors that are the normal life of a non-blocking socket, not findings.
const ROUTINE = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINPROGRESS', 'EINTR']);

const DONE = /^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:\s+(E[A-Z0-9]+)\s+\((.*)\))?\s*$/;
const UNFINISHED = /^(\d+)\s+(\w+)\((.*?)\s*<unfinished \.\.\.>$/;
const RESUMED = /^(\d+)\s+<\.\.\.\s+(\w+)\s+resumed>(.*)\)\s+=\s+(-?\d+|\?)(?:\s+(E[A-Z0-9]+)\s+\((.*)\))?\s*$/;
const MARKER = /"enc-lab-op:((?:[^"\\]|\\.)*)"/;
const SO_ERROR = /SO_ERROR,\s*\[(\d+|E[A-Z0-9]+)\]/;

// Failing syscalls in strace output, each with the operation it happened in.
export function parseStrace(text: string): Omit<KernelCall, 'swallowed'>[] {
  const out: Omit<KernelCall, 'swallowed'>[] = [];
  const pending = new Map<number, { name: string; args: string }>();
  let op: string | null = null;
  for (const line of text.split('\n')) {
    let pid: number;
    let name: string;
    let args: string;
    let ret: string;
    let errno: string | undefined;
    let message: string | undefined;
    const u = UNFINISHED.exec(line);
    if (u) {
      pending.set(Number(u[1]), { name: u[2]!, args: u[3]! });
      continue;
    }
    const d = DONE.exec(line);
    const r = d ? null : RESUMED.exec(line);
    if (d) {
      pid = Number(d[1]);
      name = d[2]!;
      args = d[3]!;
      ret = d[4]!;
      errno = d[5];
      message = d[6];
    } else if (r) {
      pid = Number(r[1]);
      const p = pending.get(pid);
      pending.delete(pid);
      name = r[2]!;
      args = (p?.args ?? '') + r[3]!;
      ret = r[4]!;
      errno = r[5];
      message = r[6];
    } else {
      continue;
    }
    if (name === 'write') {
      const m = MARKER.exec(args);
      if (m) {
        op = m[1]!.replace(/\\(.)/g, '$1');
        continue;
      }
    }
    const fd = /^(\d+)/.exec(args);
    if (name === 'getsockopt' && ret === '0') {
      // A non-blocking connect's outcome is read with getsockopt(SO_ERROR), which itself succeeds.
      // strace prints the value as a number or, when it decodes it, as the errno's name.
      const v = SO_ERROR.exec(args)?.[1] ?? '0';
      const info = /^\d+$/.test(v) ? (v !== '0' ? errnoByNumber(Number(v)) : null) : errnoByName(v);
      if (info) {
        out.push({
          op,
          pid,
          syscall: 'connect',
          fd: fd ? Number(fd[1]) : null,
          errno: info.name,
          message: info.message,
        });
      }
      continue;
    }
    if (errno === undefined || ROUTINE.has(errno)) continue;
    out.push({ op, pid, syscall: name, fd: fd ? Number(fd[1]) : null, errno, message: message ?? '' });
  }
  return out;
}
