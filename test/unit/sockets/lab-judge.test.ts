import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endAfterReset } from '../../../src/sockets/lab/end-after-reset.js';
import { linkDownConnect } from '../../../src/sockets/lab/link-down-connect.js';
import { judge } from '../../../src/sockets/lab/runner.js';
import { parseStrace } from '../../../src/sockets/lab/strace.js';

// Lines as `strace -f -qq -s 200 -o FILE` writes them (captured on this machine, trimmed).
const TRACE = [
  '101 write(23, "enc-lab-op:connect", 18) = 18',
  '101 connect(20, {sa_family=AF_INET, sin_port=htons(33799), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)',
  '101 getsockopt(20, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0',
  '101 getsockopt(21, SOL_SOCKET, SO_ERROR, [113], [4]) = 0',
  '101 getsockopt(22, SOL_SOCKET, SO_ERROR, [0], [4]) = 0',
  '101 write(23, "enc-lab-op:end()", 16) = 16',
  '101 read(20, 0x7ffd, 65536) = -1 EAGAIN (Resource temporarily unavailable)',
  '102 shutdown(20, SHUT_WR <unfinished ...>',
  '101 write(1, "x", 1) = 1',
  '102 <... shutdown resumed>) = -1 ENOTCONN (Transport endpoint is not connected)',
  '101 write(23, "enc-lab-op:write \\"quoted\\"", 26) = 26',
  '101 write(20, "x", 1) = -1 EPIPE (Broken pipe)',
].join('\n');

test('parseStrace keeps failing socket calls, attributes them to the last marker, and reads SO_ERROR', () => {
  assert.deepEqual(parseStrace(TRACE), [
    { op: 'connect', pid: 101, syscall: 'connect', fd: 20, errno: 'ECONNREFUSED', message: 'Connection refused' },
    { op: 'connect', pid: 101, syscall: 'connect', fd: 21, errno: 'EHOSTUNREACH', message: 'Host is unreachable' },
    {
      op: 'end()',
      pid: 102,
      syscall: 'shutdown',
      fd: 20,
      errno: 'ENOTCONN',
      message: 'Transport endpoint is not connected',
    },
    { op: 'write "quoted"', pid: 101, syscall: 'write', fd: 20, errno: 'EPIPE', message: 'Broken pipe' },
  ]);
});

test('judge: a kernel errno no observation carries is marked swallowed by Node', () => {
  const r = judge(
    endAfterReset,
    [
      { op: 'end()', event: 'finish', code: null, syscall: null },
      { op: 'destroy()', event: 'close', code: null, syscall: null },
    ],
    [{ op: 'end()', pid: 1, syscall: 'shutdown', fd: 20, errno: 'ENOTCONN', message: '' }],
    10,
  );
  assert.equal(r.ok, true);
  assert.deepEqual(
    r.operations[0]!.kernel?.map((k) => k.swallowed),
    [true],
  );
});

test('judge: an observation that differs from the expectation fails the scenario', () => {
  const r = judge(
    endAfterReset,
    [
      { op: 'end()', event: 'error', code: 'ENOTCONN', syscall: 'shutdown' },
      { op: 'destroy()', event: 'close', code: null, syscall: null },
    ],
    null,
    10,
  );
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.operations.map((o) => o.ok),
    [false, true],
  );
  assert.equal(r.operations[0]!.kernel, undefined);
});

test('judge: a missing observation fails; listed alternatives are accepted', () => {
  assert.equal(judge(endAfterReset, [], null, 1).ok, false);
  const ok = (code: string): boolean =>
    judge(
      linkDownConnect,
      [{ op: 'connect while the link goes down', event: 'error', code, syscall: 'connect' }],
      null,
      1,
    ).ok;
  assert.equal(ok('EHOSTUNREACH'), true);
  assert.equal(ok('ETIMEDOUT'), true);
  assert.equal(ok('ECONNREFUSED'), false);
  assert.equal(judge(linkDownConnect, [], null, 1).operations[0]!.expected.code, 'EHOSTUNREACH|ETIMEDOUT');
});
