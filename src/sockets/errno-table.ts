// What each socket error means on Linux, by code and by the syscall that returned it.
// Names, numbers and messages come from the running system (knowledge/errnos.ts); this table
// holds only what the system cannot tell us: the kind, whether a server should shrug it off
// (benign), and whether an idempotent client request may be retried.
//
// Kernel references: net/ipv4/tcp_input.c tcp_reset() (ECONNRESET, or EPIPE in CLOSE_WAIT),
// net/ipv4/af_inet.c inet_shutdown() (ENOTCONN on a socket already in CLOSE),
// net/core/stream.c sk_stream_error() (EPIPE once sk_err has been consumed), tcp(7), socket(7).

export type SocketErrorKind =
  | 'peer-reset'
  | 'peer-closed'
  | 'not-connected'
  | 'timeout'
  | 'refused'
  | 'unreachable'
  | 'dns'
  | 'tls'
  | 'local-misuse'
  | 'resource-exhausted'
  | 'aborted'
  | 'unknown';

export const SOCKET_ERROR_KINDS: readonly SocketErrorKind[] = [
  'peer-reset',
  'peer-closed',
  'not-connected',
  'timeout',
  'refused',
  'unreachable',
  'dns',
  'tls',
  'local-misuse',
  'resource-exhausted',
  'aborted',
  'unknown',
];

export type Side = 'client' | 'server';

// Where a code comes from: a kernel errno, Node itself, undici (fetch), the resolver, or a WHATWG DOM
// exception (AbortSignal.timeout()'s TimeoutError).
export type CodeSource = 'errno' | 'node' | 'undici' | 'dns' | 'dom';

export interface Meaning {
  kind: SocketErrorKind;
  // In a server: expected peer behaviour (log at debug/info) rather than a fault (log at error).
  benign: boolean;
  // For an idempotent client request: a new attempt on a new connection may succeed.
  retryable: boolean;
  meaning: string;
}

export interface SocketErrnoEntry extends Meaning {
  code: string;
  source: CodeSource;
  // The same code means something else depending on the syscall that returned it.
  bySyscall?: Readonly<Record<string, Partial<Meaning>>>;
}

const e = (
  code: string,
  source: CodeSource,
  kind: SocketErrorKind,
  benign: boolean,
  retryable: boolean,
  meaning: string,
  bySyscall?: Record<string, Partial<Meaning>>,
): SocketErrnoEntry => ({ code, source, kind, benign, retryable, meaning, ...(bySyscall ? { bySyscall } : {}) });

// The table. Order is the order of the README table.
export const SOCKET_ERRNO_TABLE: readonly SocketErrnoEntry[] = [
  e('ECONNRESET', 'errno', 'peer-reset', true, true, 'the peer, or a middlebox on the path, sent a TCP RST', {
    read: {
      meaning:
        'an RST arrived while reading: the peer closed with unread data, crashed, or a NAT/firewall lost the flow',
    },
    write: {
      meaning: 'an RST arrived before this send: the first send after a reset gets ECONNRESET, later ones get EPIPE',
    },
    connect: { meaning: 'the handshake was answered with an RST by the peer or a middlebox' },
  }),
  e('EPIPE', 'errno', 'peer-closed', true, true, 'the connection is already gone, so nothing can be sent', {
    write: {
      meaning:
        'send on a connection that is closed: the peer fully closed (its RST hit a half-closed socket), or an earlier send already reported ECONNRESET',
    },
  }),
  e(
    'ENOTCONN',
    'errno',
    'not-connected',
    true,
    false,
    'the socket is not connected: it was never connected, or it is already in CLOSE after a reset or a timeout',
    {
      shutdown: {
        meaning:
          'shutdown on a socket the kernel already moved to CLOSE (after an RST or a timeout); Node swallows this one (nodejs/node#29912)',
      },
      write: { benign: false, kind: 'local-misuse', meaning: 'send on a socket that was never connected' },
      read: { benign: false, kind: 'local-misuse', meaning: 'receive on a socket that was never connected' },
    },
  ),
  e(
    'ETIMEDOUT',
    'errno',
    'timeout',
    true,
    true,
    'the peer stopped answering: retransmissions or keepalive probes ran out',
    {
      connect: { meaning: 'no answer to the SYN (tcp_syn_retries ran out): the host is down or a firewall drops' },
      read: {
        meaning:
          'the flow went into a black hole: retransmissions (tcp_retries2) or keepalive probes (tcp_keepalive_probes) ran out',
      },
      write: { meaning: 'the flow went into a black hole while sending (tcp_retries2 ran out)' },
    },
  ),
  e('ECONNREFUSED', 'errno', 'refused', false, true, 'nothing listens there: the SYN was answered with an RST', {
    connect: { meaning: 'nothing listens on that address and port, or a firewall rejects with tcp-reset' },
  }),
  e('ECONNABORTED', 'errno', 'aborted', true, true, 'the connection was aborted locally', {
    accept: { meaning: 'the client reset the connection while it waited in the accept queue' },
    read: { meaning: 'the socket was killed locally (ss -K / SOCK_DESTROY) or aborted by the stack' },
  }),
  e(
    'EHOSTUNREACH',
    'errno',
    'unreachable',
    false,
    true,
    'no route to the host: ICMP host unreachable, or ARP/ND failed',
  ),
  e('ENETUNREACH', 'errno', 'unreachable', false, true, 'no route to the network (no route, or ICMP net unreachable)'),
  e('EHOSTDOWN', 'errno', 'unreachable', false, true, 'the host is down (reported by the link layer)'),
  e('ENETDOWN', 'errno', 'unreachable', false, true, 'the local interface is down'),
  e('ENETRESET', 'errno', 'peer-reset', true, true, 'the network dropped the connection'),
  e(
    'EBADF',
    'errno',
    'local-misuse',
    false,
    false,
    'a descriptor that is already closed: a use-after-close bug in this process, never the network',
  ),
  e(
    'ENOTSOCK',
    'errno',
    'local-misuse',
    false,
    false,
    'the descriptor is not a socket: a descriptor mix-up in this process',
  ),
  e('EISCONN', 'errno', 'local-misuse', false, false, 'connect on a socket that is already connected'),
  e('EALREADY', 'errno', 'local-misuse', false, false, 'a connect is already in progress on this socket'),
  e('EINVAL', 'errno', 'local-misuse', false, false, 'an invalid argument for this socket or its state'),
  e('ESHUTDOWN', 'errno', 'local-misuse', false, false, 'send after this side already shut down writing'),
  e('EADDRINUSE', 'errno', 'local-misuse', false, false, 'the address is in use: another socket is bound to it', {
    listen: { meaning: 'another process (or an earlier instance) already listens on that port' },
    bind: { meaning: 'another socket is already bound to that address and port' },
    connect: {
      kind: 'resource-exhausted',
      retryable: true,
      meaning: 'no free local port for this 4-tuple (ephemeral ports exhausted)',
    },
  }),
  e('EADDRNOTAVAIL', 'errno', 'resource-exhausted', false, true, 'no local address or port is available', {
    connect: { meaning: 'no free ephemeral port (ip_local_port_range exhausted), or the source address is gone' },
    bind: { kind: 'local-misuse', retryable: false, meaning: 'the address is not configured on this host' },
  }),
  e('EMFILE', 'errno', 'resource-exhausted', false, false, 'this process hit its open-file limit (ulimit -n)'),
  e('ENFILE', 'errno', 'resource-exhausted', false, false, 'the system hit its open-file limit (fs.file-max)'),
  e('ENOBUFS', 'errno', 'resource-exhausted', false, true, 'the kernel ran out of socket buffer space'),
  e('ENOMEM', 'errno', 'resource-exhausted', false, false, 'the kernel ran out of memory for the socket'),
  e(
    'EAGAIN',
    'errno',
    'resource-exhausted',
    false,
    true,
    'the operation would block, or a transient resource shortage',
  ),
  e(
    'EPROTO',
    'errno',
    'tls',
    true,
    false,
    'a protocol error; in Node usually a failed TLS handshake (wrong protocol or version)',
  ),
  // Node's own codes (no syscall: the kernel was never asked).
  e(
    'ERR_STREAM_DESTROYED',
    'node',
    'local-misuse',
    false,
    false,
    'write on a stream this process already destroyed: a use-after-destroy bug',
  ),
  e('ERR_STREAM_WRITE_AFTER_END', 'node', 'local-misuse', false, false, 'write after end(): a use-after-close bug'),
  e('ERR_SOCKET_CLOSED', 'node', 'local-misuse', false, false, 'operation on a socket this process already closed'),
  e(
    'ERR_SOCKET_CLOSED_BEFORE_CONNECTION',
    'node',
    'aborted',
    true,
    true,
    'the socket was closed before the connection was made',
  ),
  e(
    'ERR_STREAM_PREMATURE_CLOSE',
    'node',
    'peer-closed',
    true,
    true,
    'the stream closed before it ended: the other side went away mid-transfer',
  ),
  e('ERR_SOCKET_CONNECTION_TIMEOUT', 'node', 'timeout', false, true, 'every address tried by happy eyeballs timed out'),
  e(
    'ERR_HTTP_REQUEST_TIMEOUT',
    'node',
    'timeout',
    true,
    false,
    'the client did not send a whole request within requestTimeout',
  ),
  e('ERR_TLS_HANDSHAKE_TIMEOUT', 'node', 'timeout', true, true, 'the TLS handshake did not finish in time'),
  e('ABORT_ERR', 'node', 'aborted', true, false, 'the caller aborted the operation (AbortSignal)'),
  e(
    'TIMEOUT_ERR',
    'dom',
    'timeout',
    false,
    true,
    'the AbortSignal.timeout() deadline passed before the response arrived (the caller set the limit; the peer did not fail)',
  ),
  e('ETIMEOUT_IDLE', 'node', 'timeout', true, false, 'no traffic for the idle timeout; the guard closed the socket'),
  // undici (fetch) codes.
  e(
    'UND_ERR_SOCKET',
    'undici',
    'peer-closed',
    true,
    true,
    'the server closed the connection (FIN) before the response was complete ("other side closed")',
  ),
  e(
    'UND_ERR_CONNECT_TIMEOUT',
    'undici',
    'timeout',
    false,
    true,
    'the TCP (and TLS) connect did not finish within connectTimeout',
  ),
  e(
    'UND_ERR_HEADERS_TIMEOUT',
    'undici',
    'timeout',
    false,
    true,
    'the response headers did not arrive within headersTimeout',
  ),
  e('UND_ERR_BODY_TIMEOUT', 'undici', 'timeout', false, true, 'the response body stalled for bodyTimeout'),
  e(
    'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    'undici',
    'peer-closed',
    false,
    true,
    'the response ended before content-length bytes arrived',
  ),
  e('UND_ERR_CLOSED', 'undici', 'local-misuse', false, false, 'request on a client this process already closed'),
  e('UND_ERR_DESTROYED', 'undici', 'local-misuse', false, false, 'request on a client this process already destroyed'),
  e('UND_ERR_ABORTED', 'undici', 'aborted', true, false, 'the request was aborted by the caller'),
  e('UND_ERR_ABORT', 'undici', 'aborted', true, false, 'the request was aborted by the caller'),
  e('UND_ERR_INVALID_ARG', 'undici', 'local-misuse', false, false, 'an invalid argument was passed to undici'),
  e(
    'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
    'undici',
    'local-misuse',
    false,
    false,
    'the request body length differs from its content-length',
  ),
  e(
    'UND_ERR_RES_EXCEEDED_MAX_SIZE',
    'undici',
    'resource-exhausted',
    false,
    false,
    'the response is larger than maxResponseSize',
  ),
  e('UND_ERR_NOT_SUPPORTED', 'undici', 'local-misuse', false, false, 'a feature undici does not support'),
  e('UND_ERR_PRX_TLS', 'undici', 'tls', false, false, 'the TLS connection to the proxy failed'),
  e('UND_ERR_REQ_RETRY', 'undici', 'unknown', false, false, 'undici gave up retrying'),
  // Resolver codes (getaddrinfo and c-ares).
  e(
    'ENOTFOUND',
    'dns',
    'dns',
    false,
    false,
    'the name does not exist (NXDOMAIN) or has no address: retrying gives the same answer',
  ),
  e('EAI_AGAIN', 'dns', 'dns', false, true, 'the resolver could not answer now (temporary failure)'),
  e('EAI_FAIL', 'dns', 'dns', false, false, 'the resolver failed permanently'),
  e('ESERVFAIL', 'dns', 'dns', false, true, 'the DNS server returned SERVFAIL'),
  e('ETIMEOUT', 'dns', 'dns', false, true, 'the DNS query timed out'),
];

const byCode = new Map(SOCKET_ERRNO_TABLE.map((x) => [x.code, x]));

// TLS and certificate codes are many; they are matched by shape rather than listed.
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_OSSL_)/;

// The entry for a code, or null when the table does not know it.
export function socketErrnoEntry(code: string): SocketErrnoEntry | null {
  const hit = byCode.get(code);
  if (hit) return hit;
  if (TLS_CODE.test(code)) {
    return e(code, 'node', 'tls', true, false, 'the TLS handshake or certificate check failed');
  }
  if (code.startsWith('HPE_')) {
    return e(code, 'node', 'unknown', true, false, 'the peer sent malformed HTTP (llhttp parse error)');
  }
  return null;
}

// The meaning of `code` when `syscall` returned it (the syscall-specific row wins).
export function meaningFor(entry: SocketErrnoEntry, syscall: string | null): Meaning {
  const base: Meaning = { kind: entry.kind, benign: entry.benign, retryable: entry.retryable, meaning: entry.meaning };
  const key = syscall === null ? null : normaliseSyscall(syscall);
  const over = key !== null ? entry.bySyscall?.[key] : undefined;
  return over ? { ...base, ...over } : base;
}

// Node names syscalls after libuv's wrappers; map them to the kernel call that failed.
export function normaliseSyscall(syscall: string): string {
  switch (syscall) {
    case 'writev':
    case 'send':
    case 'sendto':
    case 'sendmsg':
      return 'write';
    case 'recv':
    case 'recvfrom':
    case 'recvmsg':
      return 'read';
    case 'accept4':
      return 'accept';
    default:
      return syscall;
  }
}

// Codes this table calls retryable for an idempotent request, whatever the syscall.
export function retryableCodes(): string[] {
  return SOCKET_ERRNO_TABLE.filter((x) => x.retryable).map((x) => x.code);
}
