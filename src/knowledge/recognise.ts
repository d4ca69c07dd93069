import type { CatalogEntry, ErrnoCatalog } from './catalog.js';
import { TOOL_PHRASES } from './tool-phrases.js';

// What one line says, before any interpretation: the errno and how it was found, and the tool,
// syscall, path and peer the line names.
export interface Recognised {
  errno: CatalogEntry;
  via: 'name' | 'number' | 'message' | 'phrase';
  tool: string | null;
  syscall: string | null;
  path: string | null;
  peer: string | null;
  phraseContext: 'mount' | 'socket' | null;
  note: string | null;
}

export interface RecogniseOptions {
  // Limit errno names and messages to these errnos (log scanning: what its pre-filter can see).
  only?: ReadonlySet<string>;
}

const FS_TOOLS =
  /^(?:ls|cat|stat|cp|mv|rm|rsync|df|du|find|tar|mkdir|rmdir|touch|chmod|chown|ln|head|tail|less|tee|dd|cd|test|bash|sh|zsh|mount(?:\.[\w-]+)?|umount(?:\.[\w-]+)?|fusermount3?|sshfs|rclone|s3fs|gcsfuse|blobfuse2|mount-s3|bindfs|findmnt)$/;

// Node: "Error: read ECONNRESET", "connect ECONNREFUSED 127.0.0.1:5432", "Error: ENOTCONN: ..., stat '/x'".
const NODE_SYSCALL =
  /(?:^|\b)(read|write|writev|connect|shutdown|accept|listen|bind|getaddrinfo|spawn|stat|lstat|statfs|open|scandir|mkdir|rmdir|unlink|rename|readlink|access|chdir|uv_cwd|realpath|close|send|recv) (E[A-Z]{2,})\b/;
const NODE_FS_TAIL = /\bE[A-Z]{2,}: [^,]+, (\w+) '([^']+)'/;
const NODE_FIELD_SYSCALL = /\bsyscall: '(\w+)'/;
// Go: "read tcp 10.0.0.1:5000->10.0.0.2:80: read: connection reset by peer", "dial tcp ...: connect: ...".
const GO_NET = /\b(read|write|dial|accept|listen|close) (tcp|tcp4|tcp6|udp|udp4|udp6|unix|unixgram|ip)\b/;
const GO_INNER = /: (read|write|connect|accept|shutdown|sendto|recvfrom|sendmsg|recvmsg|socket|bind): /;
// Go and many C tools: "stat /mnt/x: transport endpoint is not connected".
const OP_PATH =
  /\b(stat|lstat|statfs|statx|open|openat|mkdir|chdir|readdir|opendir|unlink|rename|readlink|getdents|truncate|chmod|chown|remove|umount|mount)\s+'?(\/[^\s:']*)'?:/;
// strace: stat("/mnt/x", 0x7ff...) = -1 ENOTCONN (Transport endpoint is not connected)
const STRACE = /\b(\w+)\("(\/[^"]*)"[^)]*\)\s+=\s+-1\s+E[A-Z]+/;
const STRACE_SOCK = /\b(\w+)\(\d+,[^=]*\)\s+=\s+-1\s+E[A-Z]+/;
// nginx and C programs: "recv() failed (104: Connection reset by peer)".
const C_CALL = /\b(\w+)\(\) failed\b/;
// "read: connection reset by peer", "write error: Broken pipe".
const BARE_OP = /\b(read|write|recv|send|connect|shutdown|accept)(?: error)?: /;

const QUOTED_PATH = /(?:'|‘|`|")(\/[^'"’`\n]*)(?:'|’|")/;
const PATH_COLON = /(?:^|[\s(])(\/[^\s:'"(),]+)(?=:\s|:$)/;
const PATH_AFTER_ON = /\b(?:on|at|mountpoint|mount point|for)\s+(\/[^\s:'",;]+)/;

const IPV4_PEER = /\b(\d{1,3}(?:\.\d{1,3}){3}:\d{1,5})\b/g;
const IPV6_PEER = /(\[[0-9a-fA-F:.]+\]:\d{1,5})/g;
const HOST_PEER = /\b((?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*\.[a-zA-Z]{2,}):\d{2,5})\b/g;
const UPSTREAM = /\bupstream: "[a-z]+:\/\/([^/"]+)/;
const ARROW_PEER = /->(\[[^\]]+\]:\d+|[^\s:]+:\d+)/;

const PY_ERRNO = /\[Errno (\d+)\]/;
const PY_CTOR = /\b\w+Error\((\d+), '/;
const PAREN_NUM_MSG = /\((\d{1,3}): ([A-Z][^)]+)\)/;
// "errno 107", "errno=107", "errno: -104" (Node), "(os error 107)" (Rust), "mount error(112)" (CIFS).
const ERRNO_NUM = /\b(?:errno[\s:=]*|os error |error\()(-?\d{1,3})\b/i;

// Find the errno a log line reports, or null when it reports none this catalog knows.
export function recogniseLine(line: string, catalog: ErrnoCatalog, opts: RecogniseOptions = {}): Recognised | null {
  const allowed = (e: CatalogEntry | null): e is CatalogEntry => e !== null && (!opts.only || opts.only.has(e.name));
  let errno: CatalogEntry | null = null;
  let via: Recognised['via'] = 'name';
  let note: string | null = null;
  let phraseContext: Recognised['phraseContext'] = null;

  // 1. An errno name as a token (Node, strace, Python's errno.ENOTCONN, kernel logs).
  for (const m of line.matchAll(/(?<![A-Za-z0-9_])(E[A-Z0-9]{2,14})(?![A-Za-z0-9_])/g)) {
    const e = catalog.name(m[1]!);
    if (allowed(e)) {
      errno = e;
      break;
    }
  }
  // 2. A number with an errno marker: [Errno 107], ConnectionResetError(104, ...), (104: msg), errno=107.
  if (!errno) {
    const num =
      PY_ERRNO.exec(line)?.[1] ?? PY_CTOR.exec(line)?.[1] ?? PAREN_NUM_MSG.exec(line)?.[1] ?? ERRNO_NUM.exec(line)?.[1];
    if (num !== undefined) {
      const e = catalog.number(Math.abs(Number(num)));
      if (allowed(e)) {
        errno = e;
        via = 'number';
      }
    }
  }
  // 3. A strerror message in any wording (capitalised by libc, lower-cased by Go).
  if (!errno) {
    const e = findMessage(line, catalog, opts.only);
    if (e) {
      errno = e;
      via = 'message';
    }
  }
  // 4. A tool's own wording (Java "Connection reset", Go "i/o timeout", mount(8) "wrong fs type").
  if (!errno) {
    for (const p of TOOL_PHRASES) {
      if (!p.re.test(line)) continue;
      const e = catalog.name(p.errno);
      if (allowed(e)) {
        errno = e;
        via = 'phrase';
        note = p.note;
        phraseContext = p.context ?? null;
        break;
      }
    }
  }
  if (!errno) return null;
  const { syscall, path } = syscallAndPath(line);
  return { errno, via, tool: toolOf(line), syscall, path, peer: peerOf(line), phraseContext, note };
}

// Messages are matched longest first, so "Too many open files in system" beats "Too many open files".
const messageIndex = new WeakMap<ErrnoCatalog, Array<{ text: string; entry: CatalogEntry }>>();

function findMessage(line: string, catalog: ErrnoCatalog, only?: ReadonlySet<string>): CatalogEntry | null {
  let list = messageIndex.get(catalog);
  if (!list) {
    list = catalog.entries
      .flatMap((e) => e.messages.map((m) => ({ text: m.toLowerCase(), entry: e })))
      .filter((x) => x.text.length >= 6)
      .sort((a, b) => b.text.length - a.text.length);
    messageIndex.set(catalog, list);
  }
  const lower = line.toLowerCase();
  for (const { text, entry } of list) {
    const at = lower.indexOf(text);
    if (at < 0) continue;
    // Whole words only: "Is a directory" must not match inside "This a directory...".
    const before = at === 0 ? '' : lower[at - 1]!;
    const after = lower[at + text.length] ?? '';
    if (/[a-z0-9]/.test(before) || /[a-z0-9]/.test(after)) continue;
    // The longest wording wins even when it is not wanted: "Too many open files in system" is ENFILE,
    // never EMFILE's shorter message inside it.
    return only && !only.has(entry.name) ? null : entry;
  }
  return null;
}

// The program that printed the line, when it says so.
export function toolOf(line: string): string | null {
  const prefix = /^(?:\S+\s+)?([\w.-]+)(?:\[\d+\])?: /.exec(line.replace(/^\s+/, ''));
  const plain = /^([\w.-]+): /.exec(line.trim());
  const first = plain?.[1] ?? null;
  if (first && FS_TOOLS.test(first)) return first;
  if (/\bjava\.(?:net|io|nio)\.|\bjavax\.|Exception\b.*\bat [\w.$]+\(/.test(line) || /\bjava\.\w+/.test(line))
    return 'java';
  if (/\[Errno \d+\]|^Traceback|\b\w+Error: \[|\bOSError\b|\bConnection\w*Error\b|BrokenPipeError/.test(line))
    return 'python';
  if (/\[(?:emerg|alert|crit|error|warn|notice|info)\] \d+#\d+:/.test(line) || /\bupstream: "/.test(line))
    return 'nginx';
  if (NODE_SYSCALL.test(line) || /\bsyscall: '/.test(line) || /^(?:Uncaught )?Error: E[A-Z]+: /.test(line.trim()))
    return 'node';
  if (GO_NET.test(line) || (GO_INNER.test(line) && /->/.test(line))) return 'go';
  if (STRACE.test(line) || STRACE_SOCK.test(line)) return 'strace';
  if (/\bkernel: |^\[\s*\d+\.\d+\] /.test(line)) return 'kernel';
  if (/\bMountVolume\b|\bkubelet\b/.test(line)) return 'kubelet';
  if (/^curl: \(\d+\)/.test(line.trim())) return 'curl';
  if (/^(?:ssh|scp|sftp|client_loop)\b/.test(line.trim())) return 'ssh';
  if (prefix?.[1] && FS_TOOLS.test(prefix[1])) return prefix[1];
  return first;
}

function syscallAndPath(line: string): { syscall: string | null; path: string | null } {
  let syscall: string | null = null;
  let path: string | null = null;
  const st = STRACE.exec(line);
  if (st) return { syscall: st[1]!, path: st[2]! };
  const nodeFs = NODE_FS_TAIL.exec(line);
  if (nodeFs) return { syscall: nodeFs[1]!, path: nodeFs[2]! };
  const op = OP_PATH.exec(line);
  if (op) {
    syscall = op[1]!;
    path = op[2]!;
  }
  syscall ??=
    NODE_SYSCALL.exec(line)?.[1] ??
    NODE_FIELD_SYSCALL.exec(line)?.[1] ??
    GO_INNER.exec(line)?.[1] ??
    GO_NET.exec(line)?.[1] ??
    C_CALL.exec(line)?.[1] ??
    STRACE_SOCK.exec(line)?.[1] ??
    BARE_OP.exec(line)?.[1] ??
    null;
  if (syscall === 'dial') syscall = 'connect';
  path ??= QUOTED_PATH.exec(line)?.[1] ?? PATH_COLON.exec(line)?.[1] ?? PATH_AFTER_ON.exec(line)?.[1] ?? null;
  if (
    path !== null &&
    (path === '/' || path.startsWith('//') || /^\/(?:dev\/(?:fuse|null)|proc\/|sys\/)$/.test(path))
  ) {
    path = path === '/' ? null : path;
  }
  return { syscall, path: path === null ? null : path.replace(/\/+$/, '') || '/' };
}

function peerOf(line: string): string | null {
  const arrow = ARROW_PEER.exec(line)?.[1];
  if (arrow) return arrow;
  const up = UPSTREAM.exec(line)?.[1];
  if (up) return up;
  const v4 = [...line.matchAll(IPV4_PEER)].map((m) => m[1]!);
  if (v4.length > 0) return v4[v4.length - 1]!;
  const v6 = [...line.matchAll(IPV6_PEER)].map((m) => m[1]!);
  if (v6.length > 0) return v6[v6.length - 1]!;
  const host = [...line.matchAll(HOST_PEER)].map((m) => m[1]!);
  return host.length > 0 ? host[host.length - 1]! : null;
}
