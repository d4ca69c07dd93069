// Wording that tools print instead of strerror(3) text, mapped to the errno it stands for. This is
// domain knowledge (each tool's own message table), not a copy of the system's errno table.
export interface ToolPhrase {
  re: RegExp;
  errno: string;
  tool: string; // who prints it
  anchor: string; // a literal substring of every match, at least 8 characters, for the log pre-filter
  context?: 'mount' | 'socket';
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
