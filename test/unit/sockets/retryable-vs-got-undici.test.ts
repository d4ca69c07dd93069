import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifySocketError } from '../../../src/sockets/classify.js';
import { SOCKET_ERRNO_TABLE, type CodeSource } from '../../../src/sockets/errno-table.js';

// got's default retry.errorCodes (sindresorhus/got documentation/7-retry.md).
const GOT = ['ETIMEDOUT', 'ECONNRESET', 'EADDRINUSE', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EAI_AGAIN'];
// undici's RetryHandler default errorCodes (nodejs/undici lib/handler/retry-handler.js).
const UNDICI = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
];

// Where we differ, and why. A difference not listed here fails the test, and so does a listed
// one that is no longer a difference.
const WE_RETRY_GOT_DOES_NOT: Record<string, string> = {
  EHOSTUNREACH: 'a route or ARP failure is often transient (a link flap, a router restart); undici retries it too',
  EHOSTDOWN: 'as EHOSTUNREACH; undici retries it',
  ENETDOWN: 'a local interface going down and up (DHCP renew, VPN reconnect); undici retries it',
  ENETRESET: 'the network dropped the connection: nothing was processed, a new one may succeed',
  ECONNABORTED: 'on Linux a client sees it when the socket is killed locally (ss -K); a new connection is fine',
  EADDRNOTAVAIL: 'ephemeral ports exhausted: ports free up as TIME_WAIT ends, so a later attempt works',
  ENOBUFS: 'transient kernel buffer shortage',
  EAGAIN: 'transient resource shortage',
  ERR_SOCKET_CLOSED_BEFORE_CONNECTION: 'no request was sent yet',
  ERR_STREAM_PREMATURE_CLOSE: 'the peer went away mid-transfer, as with ECONNRESET',
  ERR_SOCKET_CONNECTION_TIMEOUT:
    "Node's happy-eyeballs connect timeout: a connect timeout, which got retries as ETIMEDOUT",
  ERR_TLS_HANDSHAKE_TIMEOUT: 'a handshake timeout is a timeout like any other',
  ESERVFAIL: 'a DNS server failure is transient; got retries EAI_AGAIN for the same reason',
  ETIMEOUT: 'a DNS query timeout; got retries EAI_AGAIN for the same reason',
};
const GOT_RETRIES_WE_DO_NOT: Record<string, string> = {
  ENOTFOUND:
    'NXDOMAIN (or no address) is an answer, not a failure: the same name gets the same answer; EAI_AGAIN is the transient one',
};
const WE_RETRY_UNDICI_DOES_NOT: Record<string, string> = {
  ETIMEDOUT: 'a black-holed flow: a new connection may take a new path or NAT mapping; got retries it',
  EADDRINUSE: 'connect EADDRINUSE means no free local port for the 4-tuple; got retries it',
  ECONNABORTED: WE_RETRY_GOT_DOES_NOT.ECONNABORTED!,
  ENETRESET: WE_RETRY_GOT_DOES_NOT.ENETRESET!,
  EADDRNOTAVAIL: WE_RETRY_GOT_DOES_NOT.EADDRNOTAVAIL!,
  ENOBUFS: WE_RETRY_GOT_DOES_NOT.ENOBUFS!,
  EAGAIN: WE_RETRY_GOT_DOES_NOT.EAGAIN!,
  EAI_AGAIN: 'a temporary resolver failure; got retries it',
  ESERVFAIL: WE_RETRY_GOT_DOES_NOT.ESERVFAIL!,
  ETIMEOUT: WE_RETRY_GOT_DOES_NOT.ETIMEOUT!,
  UND_ERR_CONNECT_TIMEOUT: 'a connect timeout, which got retries (as ETIMEDOUT); undici leaves it to the caller',
  UND_ERR_HEADERS_TIMEOUT: 'the server was slow to answer an idempotent request; a retry is safe',
  UND_ERR_BODY_TIMEOUT: 'the body stalled on an idempotent request; a retry is safe',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'a truncated response: the connection broke mid-body',
};
const UNDICI_RETRIES_WE_DO_NOT: Record<string, string> = {
  ENOTFOUND: GOT_RETRIES_WE_DO_NOT.ENOTFOUND!,
};

// Our verdict for a code as a client request would see it (the connect row for errnos).
function weRetry(code: string, source: CodeSource): boolean {
  return classifySocketError({ code, ...(source === 'errno' ? { syscall: 'connect' } : {}) }).retryable;
}

function compare(
  theirs: readonly string[],
  sources: readonly CodeSource[],
  weOnly: Record<string, string>,
  theyOnly: Record<string, string>,
): void {
  const ours = SOCKET_ERRNO_TABLE.filter((e) => sources.includes(e.source));
  const ourRetryable = new Set(ours.filter((e) => weRetry(e.code, e.source)).map((e) => e.code));
  const actualWeOnly = [...ourRetryable].filter((c) => !theirs.includes(c)).sort();
  const actualTheyOnly = theirs.filter((c) => !ourRetryable.has(c)).sort();
  assert.deepEqual(actualWeOnly, Object.keys(weOnly).sort(), 'codes we retry and they do not');
  assert.deepEqual(actualTheyOnly, Object.keys(theyOnly).sort(), 'codes they retry and we do not');
  for (const c of theirs)
    assert.ok(
      ours.some((e) => e.code === c),
      `${c} is missing from our table`,
    );
}

test("retryable codes agree with got's defaults except where documented", () => {
  compare(GOT, ['errno', 'dns', 'node'], WE_RETRY_GOT_DOES_NOT, GOT_RETRIES_WE_DO_NOT);
});

test("retryable codes agree with undici's RetryHandler defaults except where documented", () => {
  compare(UNDICI, ['errno', 'dns', 'undici'], WE_RETRY_UNDICI_DOES_NOT, UNDICI_RETRIES_WE_DO_NOT);
});
