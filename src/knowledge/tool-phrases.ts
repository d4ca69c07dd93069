// Wording that tools print instead of strerror(3) text, mapped to the errno it stands for. This is
// domain knowledge (each tool's own message table), not a copy of the system's errno table.
export interface ToolPhrase {
  re: RegExp;
  errno: string;
  tool: string; // who prints it
  anchor: string; // a literal substring of every match, at least 8 characters, for the log pre-filter
  context?: 'mount' | 'socket' | 'dns';
  note: string;
}

export const TOOL_PHRASES: readonly ToolPhrase[] = [
  {
    // java.net.SocketException: "Connection reset" (SocketInputStream, NioSocketImpl) on a TCP RST.
    re: /\bConnection reset(?! by peer)\b/,
    errno: 'ECONNRESET',
    tool: 'java',
    anchor: 'Connection reset',
    context: 'socket',
    note: "Java's wording for ECONNRESET: the peer sent a TCP RST",
  },
  {
    re: /\bSocketTimeoutException: (?:Read|Connect|connect) timed out\b/,
    errno: 'ETIMEDOUT',
    tool: 'java',
    anchor: 'TimeoutException: ',
    context: 'socket',
    note: "Java's SO_TIMEOUT or connect timeout expired; the kernel did not return ETIMEDOUT itself",
  },
  {
    // Go's net package: a deadline set with SetDeadline passed (os.ErrDeadlineExceeded).
    re: /\bi\/o timeout\b/,
    errno: 'ETIMEDOUT',
    tool: 'go',
    anchor: 'i/o timeout',
    context: 'socket',
    note: "Go's deadline error (os.ErrDeadlineExceeded); the kernel did not return ETIMEDOUT itself",
  },
  {
    // Go's syscall table keeps the old glibc wording for ESTALE.
    re: /\b[Ss]tale NFS file handle\b/,
    errno: 'ESTALE',
    tool: 'go',
    anchor: 'tale NFS file handle',
    context: 'mount',
    note: 'the older strerror wording for ESTALE (Go and old glibc print it)',
  },
  {
    // Node's http client: the server closed the socket before answering (code ECONNRESET).
    re: /\bsocket hang up\b/,
    errno: 'ECONNRESET',
    tool: 'node',
    anchor: 'socket hang up',
    context: 'socket',
    note: "Node's http wording for a connection the server closed before it answered",
  },
  {
    // util-linux libmount: mount(2) returned EINVAL (context_mount.c, mnt_context_get_mount_excode).
    re: /\bwrong fs type, bad option, bad superblock\b/,
    errno: 'EINVAL',
    tool: 'mount',
    anchor: 'wrong fs type',
    context: 'mount',
    note: "mount(8)'s text when mount(2) fails with EINVAL",
  },
  {
    // util-linux umount: umount(2) returned EBUSY.
    re: /\btarget is busy\b/,
    errno: 'EBUSY',
    tool: 'umount',
    anchor: 'target is busy',
    context: 'mount',
    note: "umount(8)'s text for EBUSY: something still uses the mount",
  },
  {
    re: /\bdevice is busy\b/,
    errno: 'EBUSY',
    tool: 'umount',
    anchor: 'device is busy',
    context: 'mount',
    note: "umount.nfs's text for EBUSY",
  },
  {
    re: /\baccess denied by server while mounting\b/,
    errno: 'EACCES',
    tool: 'mount.nfs',
    anchor: 'access denied by server',
    context: 'mount',
    note: "mount.nfs's text when the server refuses the export (EACCES)",
  },
  {
    re: /\bmount point does not exist\b/,
    errno: 'ENOENT',
    tool: 'mount',
    anchor: 'mount point does not exist',
    context: 'mount',
    note: "mount(8)'s text for ENOENT on the mountpoint",
  },
];

// Proxies, resolvers and kernels that say what happened in their own words.
export const MORE_PHRASES: readonly ToolPhrase[] = [
  {
    // curl CURLE_COULDNT_RESOLVE_HOST (6); PHP and Guzzle print "cURL error 6".
    re: /\bCould(?:n't| not) resolve host\b/i,
    errno: 'EAI_NONAME',
    tool: 'curl',
    anchor: 'resolve host',
    context: 'dns',
    note: "curl's wording (error 6) when getaddrinfo found no address for the name",
  },
  {
    // Go's net package: the resolver answered NXDOMAIN (DNSError.IsNotFound).
    re: /\blookup [^\s:]+(?: on [^\s:]+:\d+)?: no such host\b/,
    errno: 'EAI_NONAME',
    tool: 'go',
    anchor: 'no such host',
    context: 'dns',
    note: "Go's resolver wording: the name does not exist (NXDOMAIN)",
  },
  {
    // Envoy StreamResetReason: the upstream connection closed (FIN or RST) before the response.
    re: /\breset reason: (?:connection termination|remote reset)\b/,
    errno: 'ECONNRESET',
    tool: 'envoy',
    anchor: 'reset reason: ',
    context: 'socket',
    note: "Envoy's reset reason: the upstream connection was closed or reset mid-request; Envoy does not say whether by FIN or RST",
  },
  {
    re: /\breset reason: connection timeout\b/,
    errno: 'ETIMEDOUT',
    tool: 'envoy',
    anchor: 'reset reason: ',
    context: 'socket',
    note: "Envoy's reset reason: the upstream connect timed out",
  },
  {
    // Without a transport failure reason Envoy does not say why the connect failed; a refusal is
    // the usual cause, so this is a low-confidence reading.
    re: /\breset reason: (?:remote )?connection failure\b(?!.*delayed connect error)/,
    errno: 'ECONNREFUSED',
    tool: 'envoy',
    anchor: 'reset reason: ',
    context: 'socket',
    note: "Envoy's reset reason: the upstream connect failed; without 'delayed connect error: N' the cause is not given (a refusal is the usual one)",
  },
  {
    // Linux NFS client (fs/nfs): an RPC to the server timed out (soft: the call fails; hard: it retries).
    re: /\bnfs: server \S+ not responding\b|\bnfs server [^:]*: +not +responding\b/,
    errno: 'ETIMEDOUT',
    tool: 'kernel',
    anchor: 'not responding',
    context: 'mount',
    note: 'the NFS client got no answer from the server: a soft mount fails calls with ETIMEDOUT/EIO, a hard mount hangs ("still trying")',
  },
  {
    re: /\bmount\.nfs:? connection time(?:d)? out\b/i,
    errno: 'ETIMEDOUT',
    tool: 'mount.nfs',
    anchor: 'onnection time',
    context: 'mount',
    note: "mount.nfs's text when the server did not answer",
  },
  {
    // Node's http client, in either tense (some libraries reword it).
    re: /\bsocket hung up\b/,
    errno: 'ECONNRESET',
    tool: 'node',
    anchor: 'socket hung up',
    context: 'socket',
    note: "Node's http wording for a connection the server closed before it answered",
  },
];

// Every tool phrase, in the order they are tried.
export const ALL_PHRASES: readonly ToolPhrase[] = [...TOOL_PHRASES, ...MORE_PHRASES];
