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
const NET_TOOLS = new Set(['java', 'nginx', 'curl', 'ssh', 'go', '.net', 'envoy']);
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
  /\b(?:mount(?:ed|ing|point|s)?|fuse|fusermount3?|sshfs|rclone|s3fs|gcsfuse|blobfuse2?|nfs4?|cifs|smb3?|filesystem|file system|MountVolume|volume|umount|glusterfs|gluster|fuse-bridge|mfsmount|moosefs|ceph-fuse|cephfs|juicefs|seaweedfs|lustre|ossfs|hubicfuse|plexdrive)\b/i;
// A distributed filesystem client's callbacks (GlusterFS fuse-bridge and client xlators, FUSE
// LOOKUP/STATFS replies): the error is the mount's, whatever the transport underneath.
const FS_CALLBACK =
  /\b\w+_cbk\]|\b(?:LOOKUP|STATFS|GETATTR|OPENDIR|READDIRP?)\(\)|\bclient-rpc-fops|\bCIFS: VFS:|\bnfs: server\b|\/var\/lib\/kubelet\/pods\/[^\s]*\/volumes\//;
const SOCKET_WORDS =
  /\b(?:tcp[46]?|udp[46]?|socket|sockets|upstream|peer|https?|client|ssl|tls|connection|proxy|keep-?alive|wsarecv|wsasend|connectex|websocket|grpc|httpconnectionpool|newconnectionerror|urlopen|remote host)\b/gi;
const STRONG_SOCKET_WORDS = new Set([
  'socket',
  'sockets',
  'tcp',
  'udp',
  'upstream',
  'proxy',
  'peer',
  'websocket',
  'grpc',
]);
// OpenSSH's own prefixes for a connection that failed (clientloop.c, sshconnect.c, kex.c, packet.c).
const SSH_PREFIX =
  /\b(?:client_loop|kex_exchange_identification|ssh_exchange_identification|packet_write_wait|connect to host|Read from socket failed)\b/;
// A proxy's own report about its upstream: Envoy, HAProxy, nginx.
const PROXY_PHRASE =
  /\bupstream connect error\b|\bwhile (?:connecting to|reading response header from|sending to|proxying|reading) (?:upstream|client)\b|\btermination_state\b|\bhaproxy\b/i;

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
  if (r.errno.kind === 'gai' || r.phraseContext === 'dns') {
    reasons.push(`dns: ${r.errno.name} comes from the resolver (getaddrinfo), not from a socket or a mount`);
    return { context: 'dns', mountScore: 0, socketScore: 0, reasons };
  }
  const unixSocket = r.path !== null && /\.sock$|\/csi\.sock\b/.test(r.path);
  if (unixSocket) add('socket', 3, `the path ${r.path} is a unix socket`);
  else if (r.path) add('mount', 2, `names the path ${r.path}`);
  if (r.syscall && FS_CALLS.has(r.syscall)) add('mount', 2, `syscall ${r.syscall}() acts on a path`);
  if (r.syscall && SOCKET_CALLS.has(r.syscall) && !unixSocket)
    add('socket', 2, `syscall ${r.syscall}() acts on a socket`);
  if (r.syscall && (r.syscall === 'read' || r.syscall === 'write') && r.peer)
    add('socket', 1, `${r.syscall} with a peer`);
  if (r.tool && FS_TOOLS.has(r.tool.replace(/\..*$/, ''))) add('mount', 3, `printed by ${r.tool}`);
  if (r.tool && NET_TOOLS.has(r.tool)) add('socket', 1, `printed by ${r.tool}`);
  if (r.peer) add('socket', 3, `names the peer ${r.peer}`);
  if (MOUNT_WORDS.test(line)) add('mount', 2, 'mentions a mount or filesystem');
  const sockWords = new Set([...line.matchAll(SOCKET_WORDS)].map((m) => m[0].toLowerCase()));
  const strong = [...sockWords].some((w) => STRONG_SOCKET_WORDS.has(w));
  if (sockWords.size > 0)
    add('socket', strong ? 2 : Math.min(2, sockWords.size), `mentions ${[...sockWords].join(', ')}`);
  // Python 2 printed socket.error as a bare "error: [Errno N]".
  if (/^\s*error: \[Errno \d+\]/.test(line)) add('socket', 2, "Python 2's socket.error");
  if (/\bjava\.net\./.test(line)) add('socket', 2, 'a java.net exception');
  if (SOCKET_ERRNOS.has(r.errno.name)) add('socket', 2, `${r.errno.name} comes from sockets`);
  if (SOCKET_LEANING.has(r.errno.name)) add('socket', 1, `${r.errno.name} usually comes from sockets`);
  if (MOUNT_ERRNOS.has(r.errno.name)) add('mount', 3, `${r.errno.name} comes from filesystems`);
  if (r.phraseContext) add(r.phraseContext, 2, `the wording is ${r.tool ?? 'a tool'}'s for a ${r.phraseContext} error`);
  if (r.platformCode) add('socket', 3, `${r.platformCode} is a Windows Sockets error`);
  if (FS_CALLBACK.test(line)) add('mount', 4, 'a filesystem client callback or kernel filesystem message reported it');
  if (SSH_PREFIX.test(line)) add('socket', 3, "OpenSSH's connection prefix");
  if (PROXY_PHRASE.test(line)) add('socket', 3, "a proxy's report about its upstream or client");
  if (/\bthrough socket\b/i.test(line)) add('socket', 3, 'a client reaching its server through a unix socket');
  // An EPIPE from a write is a socket (a server writing to a client that left), unless the line
  // says the write went to a pipe or a terminal.
  const toPipe = /<STD(?:OUT|ERR)>|\bstdout\b|\bstderr\b|\bpipe to\b/i.test(line);
  const serverLog =
    r.peer !== null ||
    /\bserver\b|\bclient\b|\[(?:error|crit|alert|warn)\]|\bhaproxy\b|\bnginx\b|\bunit\b|boost::system|\basio\b/i.test(
      line,
    );
  if (
    r.errno.name === 'EPIPE' &&
    r.syscall &&
    /^(?:write|writev|send|sendmsg|sendto)$/.test(r.syscall) &&
    !toPipe &&
    serverLog
  )
    add('socket', 2, `EPIPE from ${r.syscall}(): the peer went away`);
  if (toPipe) reasons.push('neither: the write went to a pipe or a terminal');
  let context: ExplainContext = 'unknown';
  if (mount >= 2 && mount > socket) context = 'mount';
  else if (socket >= 2 && socket > mount) context = 'socket';
  return { context, mountScore: mount, socketScore: socket, reasons };
}
