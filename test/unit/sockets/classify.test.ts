import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { classifySocketError } from '../../../src/sockets/classify.js';
import { meaningFor, SOCKET_ERRNO_TABLE, SOCKET_ERROR_KINDS } from '../../../src/sockets/errno-table.js';

// A Node errno error as libuv builds it (negative errno, code, syscall).
function sysErr(code: string, syscall: string, extra: Record<string, unknown> = {}): Error {
  const n = (os.constants.errno as Record<string, number>)[code];
  return Object.assign(new Error(`${syscall} ${code}`), {
    code,
    syscall,
    errno: n === undefined ? undefined : -n,
    ...extra,
  });
}

test('every code in the table classifies to its own kind, benign and retryable, per syscall', () => {
  for (const entry of SOCKET_ERRNO_TABLE) {
    assert.ok(SOCKET_ERROR_KINDS.includes(entry.kind), `${entry.code}: kind ${entry.kind}`);
    for (const syscall of [null, ...Object.keys(entry.bySyscall ?? {})]) {
      const err = Object.assign(new Error(entry.code), { code: entry.code, ...(syscall ? { syscall } : {}) });
      const c = classifySocketError(err);
      const want = meaningFor(entry, syscall);
      assert.equal(c.code, entry.code);
      assert.equal(c.syscall, syscall);
      assert.equal(c.kind, want.kind, `${syscall} ${entry.code} kind`);
      assert.equal(c.benign, want.benign, `${syscall} ${entry.code} benign`);
      assert.equal(c.retryable, want.retryable, `${syscall} ${entry.code} retryable`);
      assert.ok(c.summary.includes(want.meaning), `${syscall} ${entry.code} summary`);
    }
  }
});

// Node's os.constants.errno lacks these two; the generated table (kernel headers) has them.
const NOT_IN_OS_CONSTANTS = ['EHOSTDOWN', 'ESHUTDOWN'];
const LINUX_NUMBERS: Record<string, number> = { EHOSTDOWN: 112, ESHUTDOWN: 108 };

test('every errno-sourced code is a real errno on this system, with its Linux number', () => {
  for (const entry of SOCKET_ERRNO_TABLE.filter((x) => x.source === 'errno')) {
    const n = (os.constants.errno as Record<string, number>)[entry.code];
    if (NOT_IN_OS_CONSTANTS.includes(entry.code)) {
      assert.equal(n, undefined, `${entry.code} is now in os.constants.errno: drop it from the exception list`);
      assert.equal(classifySocketError({ code: entry.code }).errno, LINUX_NUMBERS[entry.code]);
      continue;
    }
    assert.equal(typeof n, 'number', `${entry.code} is not an errno here`);
    assert.equal(classifySocketError({ code: entry.code }).errno, n);
  }
  assert.equal(classifySocketError({ code: 'ENOTCONN' }).errno, 107);
  assert.equal(classifySocketError({ code: 'UND_ERR_SOCKET' }).errno, null);
});

const cases: Array<[string, unknown, Partial<ReturnType<typeof classifySocketError>>]> = [
  ['read ECONNRESET', sysErr('ECONNRESET', 'read'), { kind: 'peer-reset', benign: true, retryable: true, errno: 104 }],
  ['write ECONNRESET', sysErr('ECONNRESET', 'write'), { kind: 'peer-reset', syscall: 'write' }],
  ['write EPIPE', sysErr('EPIPE', 'write'), { kind: 'peer-closed', benign: true, retryable: true, errno: 32 }],
  ['writev EPIPE counts as write', sysErr('EPIPE', 'writev'), { kind: 'peer-closed', syscall: 'writev' }],
  ['shutdown ENOTCONN', sysErr('ENOTCONN', 'shutdown'), { kind: 'not-connected', benign: true, retryable: false }],
  ['write ENOTCONN is our bug', sysErr('ENOTCONN', 'write'), { kind: 'local-misuse', benign: false }],
  ['read ETIMEDOUT', sysErr('ETIMEDOUT', 'read'), { kind: 'timeout', benign: true, retryable: true }],
  ['connect ECONNREFUSED', sysErr('ECONNREFUSED', 'connect'), { kind: 'refused', benign: false, retryable: true }],
  ['connect EHOSTUNREACH', sysErr('EHOSTUNREACH', 'connect'), { kind: 'unreachable', retryable: true }],
  ['accept ECONNABORTED is server side', sysErr('ECONNABORTED', 'accept'), { kind: 'aborted', side: 'server' }],
  ['write EBADF', sysErr('EBADF', 'write'), { kind: 'local-misuse', benign: false, retryable: false, errno: 9 }],
  ['listen EADDRINUSE', sysErr('EADDRINUSE', 'listen'), { kind: 'local-misuse', retryable: false }],
  ['connect EADDRNOTAVAIL', sysErr('EADDRNOTAVAIL', 'connect'), { kind: 'resource-exhausted', retryable: true }],
  ['accept EMFILE', sysErr('EMFILE', 'accept'), { kind: 'resource-exhausted', benign: false }],
  ['getaddrinfo ENOTFOUND', sysErr('ENOTFOUND', 'getaddrinfo'), { kind: 'dns', retryable: false, errno: null }],
  ['getaddrinfo EAI_AGAIN', sysErr('EAI_AGAIN', 'getaddrinfo'), { kind: 'dns', retryable: true }],
  ['queryA ECONNREFUSED is the resolver', sysErr('ECONNREFUSED', 'queryA'), { kind: 'dns' }],
  ['TLS version mismatch', { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, { kind: 'tls', retryable: false }],
  ['expired certificate', { code: 'CERT_HAS_EXPIRED' }, { kind: 'tls' }],
  ['write EPROTO (TLS)', sysErr('EPROTO', 'write'), { kind: 'tls' }],
  ['llhttp parse error', { code: 'HPE_INVALID_METHOD' }, { kind: 'unknown', benign: true }],
  ['write after destroy', { code: 'ERR_STREAM_DESTROYED' }, { kind: 'local-misuse', benign: false }],
  [
    'http "socket hang up" is a close, not a reset',
    Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    { kind: 'peer-closed', code: 'ECONNRESET', syscall: null, retryable: true },
  ],
  [
    'AbortError (DOMException, numeric code)',
    new DOMException('aborted', 'AbortError'),
    { code: 'ABORT_ERR', kind: 'aborted', retryable: false },
  ],
  ['an error with no code', new Error('boom'), { code: 'UNKNOWN', kind: 'unknown', benign: false, retryable: false }],
  ['not an error at all', 'boom', { code: 'UNKNOWN', kind: 'unknown' }],
  ['an errno the table does not list', sysErr('ENOSPC', 'write'), { code: 'ENOSPC', kind: 'unknown', errno: 28 }],
];

for (const [name, err, want] of cases) {
  test(`classifies ${name}`, () => {
    const c = classifySocketError(err);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(c[k as keyof typeof c], v, `${name}: ${k}`);
  });
}

test('unwraps fetch failed → errno error, and names the syscall in the summary', () => {
  const err = new TypeError('fetch failed', { cause: sysErr('ECONNRESET', 'read') });
  const c = classifySocketError(err);
  assert.deepEqual([c.code, c.syscall, c.kind, c.errno], ['ECONNRESET', 'read', 'peer-reset', 104]);
  assert.match(c.summary, /^read ECONNRESET: an RST arrived while reading/);
});

test('unwraps fetch failed → undici SocketError (UND_ERR_SOCKET, "other side closed")', () => {
  const und = Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET' });
  const c = classifySocketError(new TypeError('fetch failed', { cause: und }));
  assert.deepEqual([c.code, c.kind, c.retryable, c.syscall], ['UND_ERR_SOCKET', 'peer-closed', true, null]);
});

test('prefers the errno under an undici error: fetch failed → UND_ERR_SOCKET → read ECONNRESET', () => {
  const und = Object.assign(new Error('other side closed', { cause: sysErr('ECONNRESET', 'read') }), {
    code: 'UND_ERR_SOCKET',
  });
  const c = classifySocketError(new TypeError('fetch failed', { cause: und }));
  assert.deepEqual([c.code, c.syscall, c.kind], ['ECONNRESET', 'read', 'peer-reset']);
});

test('classifies undici timeouts and aborts', () => {
  assert.equal(classifySocketError({ code: 'UND_ERR_CONNECT_TIMEOUT' }).kind, 'timeout');
  assert.equal(classifySocketError({ code: 'UND_ERR_HEADERS_TIMEOUT' }).retryable, true);
  assert.equal(classifySocketError({ code: 'UND_ERR_ABORTED' }).kind, 'aborted');
  assert.equal(classifySocketError({ code: 'UND_ERR_CLOSED' }).kind, 'local-misuse');
});

test('AggregateError from happy eyeballs: a refusal on IPv4 says more than no route on IPv6', () => {
  const agg = Object.assign(
    new AggregateError([sysErr('ENETUNREACH', 'connect'), sysErr('ECONNREFUSED', 'connect')], ''),
    { code: 'ENETUNREACH' },
  );
  const c = classifySocketError(agg);
  assert.deepEqual([c.code, c.kind, c.syscall], ['ECONNREFUSED', 'refused', 'connect']);
});

test('AggregateError: a timeout beats EADDRNOTAVAIL, and it is found inside a fetch failed cause', () => {
  const agg = new AggregateError([sysErr('EADDRNOTAVAIL', 'connect'), sysErr('ETIMEDOUT', 'connect')], '');
  const c = classifySocketError(new TypeError('fetch failed', { cause: agg }));
  assert.deepEqual([c.code, c.kind], ['ETIMEDOUT', 'timeout']);
});

test('AggregateError of uncoded errors falls back to its own code', () => {
  const agg = Object.assign(new AggregateError([new Error('a'), new Error('b')], ''), { code: 'ECONNREFUSED' });
  assert.equal(classifySocketError(agg).code, 'ECONNREFUSED');
});

test('a cause cycle does not loop', () => {
  const a = new Error('a') as Error & { cause?: unknown };
  const b = Object.assign(new Error('b', { cause: a }), { code: 'EPIPE', syscall: 'write' });
  a.cause = b;
  assert.equal(classifySocketError(a).code, 'EPIPE');
});

test('side: the context decides; accept means server; otherwise client', () => {
  assert.equal(classifySocketError(sysErr('ECONNRESET', 'read'), { side: 'server' }).side, 'server');
  assert.equal(classifySocketError(sysErr('ECONNRESET', 'read')).side, 'client');
  assert.equal(classifySocketError(sysErr('EMFILE', 'accept')).side, 'server');
});
