import type { ExplainContext } from './meanings.js';
import type { Recognised } from './recognise.js';

// Syscalls that act on a path (a mount) or on a socket.
const FS_CALLS = new Set([
  'stat',
  'lstat',
  'statfs',
  'fstatfs',
  'statx',
  'newfstatat',
  'open',
  'openat',
  'mkdir',
  'rmdir',
  'chdir',
  'readdir',
  'opendir',
  'scandir',
  'access',
  'faccessat',
  'unlink',
  'rename',
  'readlink',
  'getdents',
  'getdents64',
  'truncate',
  'chmod',
  'chown',
  'remove',
  'umount',
  'umount2',
  'mount',
  'realpath',
  'uv_cwd',
  'change_dir',
  'execve',
]);
const SOCKET_CALLS = new Set([
  'connect',
  'accept',
  'accept4',
  'shutdown',
  'send',
  'recv',
  'sendto',
  'recvfrom',
  'sendmsg',
  'recvmsg',
  'writev',
  'readv',
  'getpeername',
  'setsockopt',
  'getsockopt',
  'listen',
  'bind',
  'socket',
  'getaddrinfo',
  'SSL_read',
  'SSL_write',
  'SSL_do_handshake',
  'SSL_shutdown',
]);
const FS_TOOLS = new Set([
  'ls',
  'cat',
  'stat',
  'cp',
  'mv',
  'rm',
  'rsync',
  'df',
  'du',
  'find',
  'tar',
  'mkdir',
  'touch',
  'chmod',
  'chown',
  'mount',
  'umount',
  'fusermount',
  'fusermount3',
  'findmnt',
  'kubelet',
  'bindfs',
  'sshfs',
  's3fs',
  'gcsfuse',
  'blobfuse2',
  'mount-s3',
]);
const NET_TOOLS = new Set(['java', 'nginx', 'curl', 'ssh', 'go']);
// Errnos only a socket produces, and errnos only a filesystem produces.
const SOCKET_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ESHUTDOWN',
  'EISCONN',
  'ENOTSOCK',
  'EPROTO',
]);
const MOUNT_ERRNOS = new Set(['ESTALE', 'EROFS', 'ENOSPC', 'EDQUOT']);
// Mostly sockets, sometimes a network filesystem: a hint, not proof.
const SOCKET_LEANING = new Set(['ETIMEDOUT', 'EHOSTDOWN']);

const MOUNT_WORDS =
  /\b(?:mount(?:ed|ing|point|s)?|fuse|fusermount3?|sshfs|rclone|s3fs|gcsfuse|blobfuse2?|nfs4?|cifs|smb3?|filesystem|file system|MountVolume|volume|umount)\b/i;
const SOCKET_WORDS =
  /\b(?:tcp[46]?|udp[46]?|socket|upstream|peer|https?|client|ssl|tls|connection|proxy|keep-?alive)\b/gi;

export interface ContextVerdict {
  context: ExplainContext;
  mountScore: number;
  socketScore: number;
  reasons: string[];
}

// Where the error happened: on a mount, on a socket, or cannot tell. Scores add the evidence the
// line carries (path, syscall, tool, words, the errno itself); a tie is `unknown`, never a guess.
export function classifyContext(line: string, r: Recognised): ContextVerdict {
  let mount = 0;
  let socket = 0;
  const reasons: string[] = [];
  const add = (side: 'mount' | 'socket', n: number, why: string): void => {
    if (side === 'mount') mount += n;
    else socket += n;
    reasons.push(`${side}+${n}: ${why}`);
  };
  if (r.path) add('mount', 2, `names the path ${r.path}`);
  if (r.syscall && FS_CALLS.has(r.syscall)) add('mount', 2, `syscall ${r.syscall}() acts on a path`);
  if (r.syscall && SOCKET_CALLS.has(r.syscall)) add('socket', 2, `syscall ${r.syscall}() acts on a socket`);
  if (r.syscall && (r.syscall === 'read' || r.syscall === 'write') && r.peer)
    add('socket', 1, `${r.syscall} with a peer`);
  if (r.tool && FS_TOOLS.has(r.tool.replace(/\..*$/, ''))) add('mount', 3, `printed by ${r.tool}`);
  if (r.tool && NET_TOOLS.has(r.tool)) add('socket', 1, `printed by ${r.tool}`);
  if (r.peer) add('socket', 3, `names the peer ${r.peer}`);
  if (MOUNT_WORDS.test(line)) add('mount', 2, 'mentions a mount or filesystem');
  const sockWords = new Set([...line.matchAll(SOCKET_WORDS)].map((m) => m[0].toLowerCase()));
  if (sockWords.size > 0) add('socket', Math.min(2, sockWords.size), `mentions ${[...sockWords].join(', ')}`);
  if (/\bjava\.net\./.test(line)) add('socket', 2, 'a java.net exception');
  if (SOCKET_ERRNOS.has(r.errno.name)) add('socket', 2, `${r.errno.name} comes from sockets`);
  if (SOCKET_LEANING.has(r.errno.name)) add('socket', 1, `${r.errno.name} usually comes from sockets`);
  if (MOUNT_ERRNOS.has(r.errno.name)) add('mount', 3, `${r.errno.name} comes from filesystems`);
  if (r.phraseContext) add(r.phraseContext, 2, `the wording is ${r.tool ?? 'a tool'}'s for a ${r.phraseContext} error`);
  let context: ExplainContext = 'unknown';
  if (mount >= 2 && mount > socket) context = 'mount';
  else if (socket >= 2 && socket > mount) context = 'socket';
  return { context, mountScore: mount, socketScore: socket, reasons };
}
