// Other languages' names for errnos: exception classes, error kinds and atoms that stand for one
// errno without printing it. Domain knowledge kept as data; each entry says who prints it.
export interface NamedConstant {
  re: RegExp;
  errno: string;
  who: string;
  context?: 'socket' | 'dns' | 'mount';
}

export const NAMED_CONSTANTS: readonly NamedConstant[] = [
  // java.nio.channels: thrown by SocketChannel read/write/shutdown on a socket that is not connected.
  { re: /\bNotYetConnectedException\b/, errno: 'ENOTCONN', who: 'Java NIO', context: 'socket' },
  { re: /\bjava\.net\.NoRouteToHostException\b/, errno: 'EHOSTUNREACH', who: 'Java', context: 'socket' },
  { re: /\bjava\.net\.UnknownHostException\b/, errno: 'EAI_NONAME', who: 'Java', context: 'dns' },
  // Python's OSError subclasses (PEP 3151) name the errno they wrap.
  { re: /\bConnectionResetError\b/, errno: 'ECONNRESET', who: 'Python', context: 'socket' },
  { re: /\bConnectionRefusedError\b/, errno: 'ECONNREFUSED', who: 'Python', context: 'socket' },
  { re: /\bConnectionAbortedError\b/, errno: 'ECONNABORTED', who: 'Python', context: 'socket' },
  { re: /\bBrokenPipeError\b/, errno: 'EPIPE', who: 'Python' },
  // Rust std::io::ErrorKind (and Deno, which prints the kind as the error name).
  {
    re: /\b(?:kind: )?NotConnected\b(?!\w)/,
    errno: 'ENOTCONN',
    who: 'Rust (std::io::ErrorKind::NotConnected)',
    context: 'socket',
  },
  { re: /\bkind: ConnectionReset\b|\bSummary: ConnectionReset\b/, errno: 'ECONNRESET', who: 'Rust', context: 'socket' },
  { re: /\bkind: ConnectionRefused\b/, errno: 'ECONNREFUSED', who: 'Rust', context: 'socket' },
  { re: /\bkind: ConnectionAborted\b/, errno: 'ECONNABORTED', who: 'Rust', context: 'socket' },
  { re: /\bkind: BrokenPipe\b/, errno: 'EPIPE', who: 'Rust' },
  { re: /\bkind: TimedOut\b/, errno: 'ETIMEDOUT', who: 'Rust', context: 'socket' },
  { re: /\bkind: AddrInUse\b/, errno: 'EADDRINUSE', who: 'Rust', context: 'socket' },
  { re: /\bkind: HostUnreachable\b/, errno: 'EHOSTUNREACH', who: 'Rust', context: 'socket' },
  { re: /\bkind: StaleNetworkFileHandle\b/, errno: 'ESTALE', who: 'Rust', context: 'mount' },
  // Erlang/Elixir inet: errors are lower-case atoms ({error,econnrefused}, {:error, :econnrefused}).
  {
    re: /(?:[{,:]\s*'?|reason:?\s+:?)(econnrefused)\b/,
    errno: 'ECONNREFUSED',
    who: 'Erlang/Elixir (inet atom)',
    context: 'socket',
  },
  { re: /(?:[{,:]\s*'?|reason:?\s+:?)(econnreset)\b/, errno: 'ECONNRESET', who: 'Erlang/Elixir', context: 'socket' },
  { re: /(?:[{,:]\s*'?|reason:?\s+:?)(enotconn)\b/, errno: 'ENOTCONN', who: 'Erlang/Elixir', context: 'socket' },
  { re: /(?:[{,:]\s*'?|reason:?\s+:?)(etimedout)\b/, errno: 'ETIMEDOUT', who: 'Erlang/Elixir', context: 'socket' },
  {
    re: /(?:[{,:]\s*'?|reason:?\s+:?)(ehostunreach)\b/,
    errno: 'EHOSTUNREACH',
    who: 'Erlang/Elixir',
    context: 'socket',
  },
  { re: /(?:[{,:]\s*'?|reason:?\s+:?)(epipe)\b/, errno: 'EPIPE', who: 'Erlang/Elixir', context: 'socket' },
  { re: /(?:[{,:]\s*'?|reason:?\s+:?)(nxdomain)\b/, errno: 'EAI_NONAME', who: 'Erlang inet_res', context: 'dns' },
];
