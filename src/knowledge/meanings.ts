// What an errno means where it happened. Domain knowledge, kept as data: the seed guide's
// mount/socket split (DESIGN §1) and the usual causes operators find. `{path}` and `{peer}` are
// filled in from the line when known; `{mountpoint}` from this host's mount table.
export type ExplainContext = 'mount' | 'socket' | 'dns' | 'unknown';

export interface Meaning {
  meaning: string;
  causes: string[];
  nextSteps: string[];
}

export type MeaningSet = Partial<Record<ExplainContext, Meaning>>;

const NET_CHECKS = [
  'Check the peer is up and listening: `ss -tlnp` on it, or `nc -vz HOST PORT` from here',
  'Look for a firewall, load balancer or NAT idle timeout between the two ends',
];

export const MEANINGS: Readonly<Record<string, MeaningSet>> = {
  // getaddrinfo(3) codes: the resolver, not a socket or a mount. Node reports EAI_NONAME as ENOTFOUND.
  EAI_NONAME: {
    dns: {
      meaning:
        'The name does not resolve: the resolver answered that the host name does not exist (NXDOMAIN) or has no address. Retrying gives the same answer until DNS or the name changes.',
      causes: [
        'a typo in the host name, or a URL passed where a host name was expected (getaddrinfo("http://..."))',
        'a record that was deleted or never created, or a search domain that does not apply here',
        'inside a container: a name that only the host (or only another network) can resolve',
      ],
      nextSteps: [
        'Resolve it the way the program does: `getent hosts NAME` (uses nsswitch and /etc/hosts, as getaddrinfo does)',
        'Ask the resolver directly: `dig NAME` or `nslookup NAME`, and check /etc/resolv.conf',
        'Do not retry in a loop: this answer is not temporary',
      ],
    },
  },
  EAI_AGAIN: {
    dns: {
      meaning:
        'The resolver could not answer now: the DNS server timed out or returned SERVFAIL. The name may exist; a retry may succeed.',
      causes: [
        'no reachable DNS server (network down, wrong nameserver in /etc/resolv.conf, a container without DNS)',
        'the DNS server timed out or failed upstream (SERVFAIL)',
        'a resolver overloaded by many parallel lookups (Alpine/musl, small thread pools)',
      ],
      nextSteps: [
        'Check the nameservers: `cat /etc/resolv.conf` and `dig @SERVER NAME`',
        'Retry with backoff: EAI_AGAIN is temporary by definition',
        'Cache lookups, or use a local caching resolver, when many requests resolve the same name',
      ],
    },
  },
  EAI_FAIL: {
    dns: {
      meaning: 'The resolver failed permanently for this name (a non-recoverable failure, such as a refused query).',
      causes: ['the DNS server refused the query', 'a broken delegation for the domain'],
      nextSteps: ['Query the servers directly with `dig +trace NAME`'],
    },
  },
  EAI_NODATA: {
    dns: {
      meaning: 'The name exists but has no address of the requested kind (no A or AAAA record).',
      causes: ['an IPv6-only or IPv4-only name asked for the other family', 'a name with only MX or TXT records'],
      nextSteps: ['Check the records: `dig A NAME` and `dig AAAA NAME`'],
    },
  },

  ENOTCONN: {
    mount: {
      meaning:
        "The mount's backend is gone: the FUSE daemon serving {path} exited, crashed or was killed (or its connection was aborted), and the kernel answers every request with ENOTCONN until the mount is unmounted.",
      causes: [
        'the FUSE daemon (sshfs, rclone, s3fs...) crashed or exited',
        'the OOM killer took the daemon (see `dmesg | grep -i "killed process"`)',
        'sshfs without `reconnect` exited when its ssh session dropped',
        'someone aborted the connection in /sys/fs/fuse/connections or killed the daemon',
      ],
      nextSteps: [
        'Run `enotconn diagnose {path}` for the cause and the exact remediation plan',
        'Unmount lazily (`fusermount3 -uz {mountpoint}`) and remount, or `enotconn heal {path}`',
        'Prevent it: `enotconn lint` (reconnect, Restart=on-failure, ExecStartPre=-fusermount -uz, OOM protection)',
      ],
    },
    socket: {
      meaning:
        'The socket is not connected: the call (shutdown, send, getpeername) was made on a socket whose connection never completed or was already torn down, usually because the peer reset it or the local side already closed it.',
      causes: [
        'the peer reset the connection (RST) before this shutdown() or write',
        'shutdown() called twice, or after the socket was destroyed',
        'a send on a TCP socket whose connect() had not completed or failed',
      ],
      nextSteps: [
        'Treat it as "already closed": in Node, ignore ENOTCONN from socket.end()/shutdown and let the close event finish cleanup',
        'Look for an earlier ECONNRESET or EPIPE on the same connection: that is the root event',
        'Use `enotconn explain --log FILE` to see whether resets cluster on one peer',
      ],
    },
    unknown: {
      meaning:
        'ENOTCONN means "not connected": on a filesystem path it is a dead FUSE backend; on a socket it is a connection that is already gone.',
      causes: ['a dead FUSE daemon behind a mount', 'a socket used after its peer reset or closed it'],
      nextSteps: [
        'If a path is involved, run `enotconn diagnose PATH`',
        'If a socket is involved, look for an earlier ECONNRESET on the same connection',
      ],
    },
  },
  ECONNABORTED: {
    mount: {
      meaning:
        "The FUSE connection behind {path} was aborted (through /sys/fs/fuse/connections/N/abort or by the daemon's exit); requests fail until it is unmounted.",
      causes: ['the connection was aborted by an operator or by enotconn heal', 'the daemon exited mid-request'],
      nextSteps: ['Run `enotconn diagnose {path}`', 'Unmount lazily and remount: `enotconn heal {path}`'],
    },
    socket: {
      meaning:
        'The connection was aborted locally: the kernel dropped it before accept() returned or during a transfer.',
      causes: [
        'the client reset the connection while it sat in the accept queue',
        'a local timeout or protocol error killed the connection',
      ],
      nextSteps: ['Retry the operation; treat it like a reset', ...NET_CHECKS],
    },
  },
  ECONNRESET: {
    socket: {
      meaning:
        'The peer{peerText} reset the connection: a TCP RST arrived, so the other end closed the socket abruptly or never knew about this connection.',
      causes: [
        'the peer process crashed, restarted or closed with unread data',
        'an idle timeout on a load balancer, NAT or firewall dropped the flow and answered with RST',
        'keep-alive reuse of a connection the server had already closed (a race on idle keep-alive sockets)',
      ],
      nextSteps: [
        'Check the peer logs at the same timestamp',
        'Make client keep-alive timeouts shorter than the server and any load balancer idle timeout',
        'Retry idempotent requests once on ECONNRESET',
        ...NET_CHECKS,
      ],
    },
    mount: {
      meaning:
        "The network connection behind the mount at {path} was reset by the server; the backend (NFS, CIFS, sshfs's ssh session) lost its transport.",
      causes: [
        'the file server restarted or dropped the session',
        'a firewall or NAT dropped the long-lived connection',
      ],
      nextSteps: [
        'Run `enotconn diagnose {path}`',
        'For sshfs use `reconnect` and ServerAliveInterval (`enotconn lint`)',
      ],
    },
  },
  EPIPE: {
    socket: {
      meaning:
        'Broken pipe: this side wrote to a connection the peer{peerText} had already closed, so the write can never be delivered.',
      causes: [
        'the peer closed the connection (or reset it) while this side was still writing',
        'a client gave up (timeout, user cancelled) before the response was sent',
      ],
      nextSteps: [
        'Stop writing on EPIPE and close the socket; it is the expected end of a dropped client',
        'If it is frequent, compare client and server timeouts',
      ],
    },
    unknown: {
      meaning: 'Broken pipe: a write to a pipe or socket whose reading end is closed.',
      causes: ['the reader exited early (for example `cmd | head`)', 'the peer closed a socket'],
      nextSteps: ['Usually harmless when the reader stops on purpose; otherwise find why the reader went away'],
    },
  },
  ECONNREFUSED: {
    socket: {
      meaning:
        'Connection refused: the host{peerText} answered, but nothing listens on that port (the kernel replied with RST to the SYN).',
      causes: [
        'the service is down or restarting',
        'it listens on another address or port (127.0.0.1 versus 0.0.0.0, IPv4 versus IPv6)',
        'a firewall rejects (not drops) the connection',
      ],
      nextSteps: [
        'Check the service: `ss -tlnp | grep PORT` on the server',
        'Check the address and port in the client configuration',
        ...NET_CHECKS.slice(1),
      ],
    },
    mount: {
      meaning:
        'The server behind the mount at {path} refused the connection: its service (sshd, nfsd, smbd) is not listening.',
      causes: ['the file server service is down', 'wrong port (sshfs -p, NFS port) in the mount options'],
      nextSteps: [
        'Run `enotconn diagnose {path}` (it tests the endpoint)',
        'Start the server-side service, then remount',
      ],
    },
  },
  ETIMEDOUT: {
    socket: {
      meaning:
        'The connection timed out: no answer from the peer{peerText} within the timeout (SYNs or retransmissions went unanswered).',
      causes: [
        'the peer is down or unreachable and packets are silently dropped',
        'a firewall drops the traffic',
        'the peer is overloaded',
      ],
      nextSteps: [...NET_CHECKS, 'Check routing and packet loss: `mtr HOST`'],
    },
    mount: {
      meaning:
        'The server behind the mount at {path} did not answer in time (an NFS soft mount returns this after retrans; sshfs after its ssh timeout).',
      causes: ['the file server or network is down', 'a network partition'],
      nextSteps: [
        'Run `enotconn diagnose {path}`',
        'Check the server is reachable; consider `hard` with explicit timeo/retrans for NFS',
      ],
    },
  },
  EHOSTUNREACH: {
    socket: {
      meaning: 'No route to host: the network layer could not reach the peer{peerText} (ARP or ICMP host-unreachable).',
      causes: [
        'the host is down or has another address',
        'a firewall answers with ICMP host-prohibited',
        'missing route',
      ],
      nextSteps: ['`ip route get ADDRESS`; `ping ADDRESS`', 'Check firewall rules on the path'],
    },
    mount: {
      meaning: 'The file server behind {path} cannot be reached: there is no route to it.',
      causes: ['the server is down', 'network or VPN down'],
      nextSteps: ['Run `enotconn diagnose {path}`', '`ip route get SERVER`'],
    },
  },
  ENETUNREACH: {
    socket: {
      meaning: 'Network is unreachable: this host has no route to the peer{peerText} network at all.',
      causes: ['no default route (network not up yet at boot)', 'IPv6 address without IPv6 connectivity'],
      nextSteps: ['`ip route`; `ip -6 route`', 'Order the service after network-online.target'],
    },
    mount: {
      meaning: 'The network the server of {path} lives on is unreachable from this host.',
      causes: ['the mount was attempted before the network was up (missing `_netdev`)', 'network down'],
      nextSteps: ['Add `_netdev,nofail` to the fstab entry (`enotconn lint`)', '`ip route`'],
    },
  },
  EHOSTDOWN: {
    mount: {
      meaning:
        'Host is down: the server of the mount at {path} does not answer (CIFS reports this as `mount error(112)`).',
      causes: ['the file server is off or unreachable', 'SMB dialect or name resolution problem'],
      nextSteps: ['Run `enotconn diagnose {path}`', 'Check the server with `nc -vz SERVER 445`'],
    },
    socket: {
      meaning: 'Host is down: the peer{peerText} does not answer at all.',
      causes: ['the peer is off', 'network problem'],
      nextSteps: NET_CHECKS,
    },
  },
  ESTALE: {
    mount: {
      meaning:
        'Stale file handle: the server of the mount at {path} no longer knows the file handle the client holds, so the file or the whole export must be looked up again.',
      causes: [
        'the NFS export was re-exported, moved or its filesystem recreated',
        'the file was deleted on the server while this client had it open or cached',
        'the server restarted with different file handles (fsid changed)',
      ],
      nextSteps: [
        'Run `enotconn diagnose {path}`',
        'Re-open the file; if the mountpoint itself is stale, unmount (`umount -l`) and mount again',
        'Pin the export with a fixed `fsid=` on the server',
      ],
    },
  },
  EIO: {
    mount: {
      meaning:
        'Input/output error from the filesystem at {path}: the backend returned an error for the operation (a soft NFS timeout, a FUSE daemon error, or a disk error).',
      causes: [
        'an NFS `soft` mount gave up after retrans',
        'the FUSE daemon answered with EIO (remote error, bad credentials)',
        'a local disk I/O error',
      ],
      nextSteps: [
        'Run `enotconn diagnose {path}`',
        'Check `dmesg` for the device or server messages',
        'For NFS, use `hard` unless EIO is acceptable (`enotconn lint`)',
      ],
    },
    unknown: {
      meaning: 'Input/output error: the device or filesystem could not complete the operation.',
      causes: ['disk or device error', 'network filesystem backend error'],
      nextSteps: ['Check `dmesg`', 'If a path is involved, run `enotconn diagnose PATH`'],
    },
  },
  EBUSY: {
    mount: {
      meaning:
        'Device or resource busy: the mount at {path} is in use, so it cannot be unmounted (or mounted over) now.',
      causes: [
        'a process has its cwd, an open file or a memory map inside the mount',
        'another mount is stacked below it',
      ],
      nextSteps: [
        'Find holders: `fuser -vm {path}` or `enotconn diagnose {path}` (it lists them)',
        'Use a lazy unmount (`umount -l` / `fusermount3 -uz`) when the mount is dead',
      ],
    },
    unknown: {
      meaning: 'Device or resource busy: something else holds the resource.',
      causes: ['another process uses it'],
      nextSteps: ['`fuser -v RESOURCE`'],
    },
  },
  EACCES: {
    mount: {
      meaning:
        'Permission denied on {path}. On a FUSE mount without `allow_other`, every user except its owner gets this: it is access control, not a fault.',
      causes: [
        'a FUSE mount owned by another user, without allow_other',
        'file permissions or server-side export rules',
        'the NFS server refused the client',
      ],
      nextSteps: [
        '`enotconn diagnose {path}` shows the owner and options',
        'Access it as the owner, or remount with `-o allow_other` (needs user_allow_other in /etc/fuse.conf)',
      ],
    },
    unknown: {
      meaning: 'Permission denied: the caller lacks the permission.',
      causes: ['file mode, ACL or ownership', 'an LSM (AppArmor, SELinux) denial'],
      nextSteps: ['Check `ls -l` and `id`', 'Check `dmesg` for AppArmor/SELinux denials'],
    },
  },
  EPERM: {
    unknown: {
      meaning: 'Operation not permitted: the operation needs a privilege (capability) the process lacks.',
      causes: ['not root, or missing CAP_SYS_ADMIN (mount, umount)', 'a seccomp or container restriction'],
      nextSteps: ['Run with the needed privilege', 'In a container, check its capabilities'],
    },
  },
  EADDRINUSE: {
    socket: {
      meaning: 'Address already in use: another socket is bound to that address and port.',
      causes: ['another instance of the service is running', 'the old process is still shutting down'],
      nextSteps: ['`ss -tlnp | grep PORT` to find the owner', 'Use SO_REUSEADDR for quick restarts'],
    },
  },
  EADDRNOTAVAIL: {
    socket: {
      meaning:
        'Cannot assign requested address: the local address does not exist on this host, or no ephemeral ports are left.',
      causes: ['binding to an IP this host does not have', 'ephemeral port exhaustion from many short connections'],
      nextSteps: ['`ip addr`', 'Check `ss -s` for TIME_WAIT counts; reuse connections'],
    },
  },
  EINVAL: {
    mount: {
      meaning:
        'mount(2) rejected the request at {path}: wrong filesystem type, a bad option, a bad superblock or a missing helper.',
      causes: [
        'the helper program (mount.nfs, mount.cifs, mount.fuse3) is not installed',
        'an option the filesystem does not accept',
        'a wrong device or source',
      ],
      nextSteps: [
        '`dmesg | tail` for the kernel reason',
        'Install the helper package (nfs-common, cifs-utils, fuse3)',
        'Check the options in fstab with `enotconn lint`',
      ],
    },
  },
  ENOENT: {
    mount: {
      meaning: 'No such file or directory at {path}: the mountpoint or the source does not exist.',
      causes: ['the mountpoint directory was not created', 'the remote path or export does not exist'],
      nextSteps: ['Create the mountpoint: `mkdir -p {path}`', 'Check the source path on the server'],
    },
  },
  ENODEV: {
    mount: {
      meaning: 'No such device: the kernel does not know this filesystem type (or /dev/fuse is missing).',
      causes: ['the module (fuse, nfs, cifs) is not loaded', 'in a container, /dev/fuse is not passed in'],
      nextSteps: ['`modprobe fuse` (or nfs, cifs)', 'Pass `--device /dev/fuse` to the container'],
    },
  },
  EROFS: {
    mount: {
      meaning:
        'Read-only file system: the mount at {path} is read-only (mounted `ro`, or remounted read-only after errors).',
      causes: ['mounted read-only on purpose', 'the kernel remounted it read-only after an error'],
      nextSteps: ['`findmnt {path}` to see its options', 'Check `dmesg` for the error that caused it'],
    },
  },
  ENOSPC: {
    mount: {
      meaning: 'No space left on device: the filesystem behind {path} is full (blocks or inodes).',
      causes: ['the disk or remote quota is full', 'inodes exhausted'],
      nextSteps: ['`df -h {path}`; `df -i {path}`'],
    },
  },
  EMFILE: {
    unknown: {
      meaning: 'Too many open files: the process hit its file descriptor limit (RLIMIT_NOFILE).',
      causes: ['a descriptor leak (sockets not closed)', 'a limit too low for the load'],
      nextSteps: ['`ls /proc/PID/fd | wc -l` against `ulimit -n`', 'Raise LimitNOFILE= in the unit, and fix leaks'],
    },
  },
  ESHUTDOWN: {
    socket: {
      meaning: 'Cannot send after transport endpoint shutdown: this side already shut down writing on the socket.',
      causes: ['a write after shutdown(SHUT_WR) or end()'],
      nextSteps: ['Do not write after ending the stream'],
    },
  },
};

// The meaning of `errno` in `context`, falling back to the entry for any context it has.
export function meaningFor(
  errno: string,
  context: ExplainContext,
): { meaning: Meaning; context: ExplainContext } | null {
  const set = MEANINGS[errno];
  if (!set) return null;
  const exact = set[context];
  if (exact) return { meaning: exact, context };
  if (context === 'unknown') {
    // One context only: say which one it is written for.
    const only = (['mount', 'socket', 'dns'] as const).filter((c) => set[c]);
    if (only.length === 1) return { meaning: set[only[0]!]!, context: only[0]! };
    return null;
  }
  if (set.unknown) return { meaning: set.unknown, context: 'unknown' };
  return null;
}
