import { errnoByName } from '../knowledge/errnos.js';
import { meaningFor, socketErrnoEntry, type Meaning, type Side, type SocketErrorKind } from './errno-table.js';

// What a socket error means: data a server or client can act on.
export interface SocketErrorClass {
  code: string; // ECONNRESET, UND_ERR_SOCKET, ERR_STREAM_DESTROYED, ... or UNKNOWN
  errno: number | null; // the Linux errno number, when the code is a kernel errno
  syscall: string | null; // read, write, shutdown, connect, accept, getaddrinfo, ...
  kind: SocketErrorKind;
  side: Side;
  benign: boolean; // in a server: expected peer behaviour, not a fault
  retryable: boolean; // for an idempotent client request
  summary: string;
}

export interface ClassifyContext {
  side?: Side;
}

interface ErrorLike {
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
  name?: unknown;
  cause?: unknown;
  errors?: unknown;
}

const MAX_DEPTH = 8;

// Classify anything thrown or emitted by a socket, http, https, http2 or fetch call.
// Unwraps `cause` chains (fetch failed → undici → errno) and AggregateError (happy eyeballs).
export function classifySocketError(err: unknown, context: ClassifyContext = {}): SocketErrorClass {
  const chosen = pick(err, 0, new Set());
  return describe(chosen, context);
}

function describe(x: ErrorLike | null, context: ClassifyContext): SocketErrorClass {
  const code = codeOf(x);
  const syscall = x !== null && typeof x.syscall === 'string' ? x.syscall : null;
  const errnoInfo = /^E[A-Z0-9]+$/.test(code) ? errnoByName(code) : null;
  const m = meaningOf(code, syscall, x, errnoInfo?.message ?? null);
  const side: Side = context.side ?? (syscall === 'accept' || syscall === 'accept4' ? 'server' : 'client');
  return {
    code,
    errno: errnoInfo ? errnoInfo.number : null,
    syscall,
    kind: m.kind,
    side,
    benign: m.benign,
    retryable: m.retryable,
    summary: `${syscall !== null ? `${syscall} ` : ''}${code}: ${m.meaning}`,
  };
}

function meaningOf(code: string, syscall: string | null, x: ErrorLike | null, strerror: string | null): Meaning {
  // Node's http client says ECONNRESET "socket hang up" when the server closed (FIN) before
  // answering: no syscall failed and no RST arrived (lib/_http_client.js socketOnEnd).
  if (code === 'ECONNRESET' && syscall === null && x !== null && x.message === 'socket hang up') {
    return {
      kind: 'peer-closed',
      benign: true,
      retryable: true,
      meaning:
        'the server closed the connection before a response arrived (Node reports it as ECONNRESET "socket hang up")',
    };
  }
  // http.IncomingMessage says ECONNRESET "aborted" when the connection ended before the body did
  // (lib/_http_client.js socketOnEnd/responseOnEnd): the server closed, by FIN, mid-body. An RST
  // instead surfaces as "read ECONNRESET", with its syscall.
  if (code === 'ECONNRESET' && syscall === null && x !== null && x.message === 'aborted') {
    return {
      kind: 'peer-closed',
      benign: true,
      retryable: true,
      meaning:
        'the server closed the connection before the response body was complete (Node reports it as ECONNRESET "aborted"; no RST arrived)',
    };
  }
  const entry = socketErrnoEntry(code);
  const dnsCall = syscall !== null && /^(getaddrinfo|getnameinfo|query)/.test(syscall);
  if (entry) {
    const m = meaningFor(entry, syscall);
    return dnsCall && m.kind !== 'dns'
      ? { ...m, kind: 'dns', benign: false, meaning: `the resolver: ${m.meaning}` }
      : m;
  }
  if (dnsCall) return { kind: 'dns', benign: false, retryable: false, meaning: `name resolution failed (${code})` };
  return {
    kind: 'unknown',
    benign: false,
    retryable: false,
    meaning:
      strerror ?? (x !== null && typeof x.message === 'string' && x.message !== '' ? x.message : 'unrecognised error'),
  };
}

function codeOf(x: ErrorLike | null): string {
  if (x === null) return 'UNKNOWN';
  // AbortSignal.timeout() rejects fetch with a DOMException named TimeoutError (numeric code 23), and
  // http.get with an AbortError whose cause is that TimeoutError (WHATWG DOM, "timeout" abort reason).
  if (x.name === 'TimeoutError' && typeof x.code !== 'string') return 'TIMEOUT_ERR';
  if (typeof x.code === 'string' && x.code !== '') return x.code;
  if (x.name === 'AbortError') return 'ABORT_ERR';
  return 'UNKNOWN';
}

function asErrorLike(v: unknown): ErrorLike | null {
  return typeof v === 'object' && v !== null ? (v as ErrorLike) : null;
}

function hasCode(x: ErrorLike): boolean {
  return codeOf(x) !== 'UNKNOWN' && codeOf(x) !== 'ABORT_ERR' ? true : typeof x.code === 'string' && x.code !== '';
}

// How much a code tells about the network: a refusal or reset from the target says more than
// "no route" on an address family the host does not use (happy eyeballs tries both).
const KIND_RANK: Record<SocketErrorKind, number> = {
  refused: 6,
  'peer-reset': 6,
  'peer-closed': 5,
  timeout: 5,
  tls: 5,
  dns: 4,
  'not-connected': 3,
  unreachable: 2,
  'resource-exhausted': 2,
  aborted: 1,
  'local-misuse': 1,
  unknown: 0,
};

function rank(x: ErrorLike | null): number {
  if (x === null || !hasCode(x)) return -1;
  const c = describe(x, {});
  return KIND_RANK[c.kind] + (c.syscall !== null ? 0.5 : 0);
}

// The most informative error inside `err`: the deepest coded error in its cause chain, with
// each AggregateError replaced by its best inner error.
function pick(err: unknown, depth: number, seen: Set<unknown>): ErrorLike | null {
  const chain: ErrorLike[] = [];
  let cur = asErrorLike(err);
  while (cur !== null && !seen.has(cur) && depth + chain.length < MAX_DEPTH) {
    seen.add(cur);
    const inner = Array.isArray(cur.errors) && cur.errors.length > 0 ? bestOf(cur.errors, depth + 1, seen) : null;
    chain.push(inner !== null && rank(inner) >= 0 ? inner : cur);
    cur = asErrorLike(cur.cause);
  }
  // Prefer a kernel errno (it names the syscall), then any code the table knows, then any code.
  const coded = chain.filter(hasCode);
  const isErrno = (x: ErrorLike): boolean => typeof x.code === 'string' && errnoByName(x.code) !== null;
  const known = (x: ErrorLike): boolean => socketErrnoEntry(codeOf(x)) !== null;
  const deepest = (f: (x: ErrorLike) => boolean): ErrorLike | undefined => [...coded].reverse().find(f);
  return deepest(isErrno) ?? deepest(known) ?? coded[0] ?? chain[0] ?? null;
}

function bestOf(errors: unknown[], depth: number, seen: Set<unknown>): ErrorLike | null {
  let best: ErrorLike | null = null;
  let bestRank = -2;
  for (const e of errors) {
    const p = pick(e, depth, seen);
    const r = rank(p);
    if (r > bestRank) {
      best = p;
      bestRank = r;
    }
  }
  return best;
}
