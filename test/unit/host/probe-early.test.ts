// The probes a plain `scan` sends before its code loads: only for a command line the scan accepts
// and that covers exactly the default mounts (any other flag, or one the scan refuses, sends none).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { plainScan } from '../../../src/host/probe-early.js';

test('a plain scan: its timeout and its paths, resolved as scan resolves them', () => {
  assert.deepEqual(plainScan(['scan']), { timeoutMs: 2000, paths: [] });
  assert.deepEqual(plainScan(['scan', '--json', '--timeout', '1s', 'mnt', '/srv']), {
    timeoutMs: 1000,
    paths: [path.resolve('mnt'), '/srv'],
  });
  assert.deepEqual(plainScan(['scan', '--npd', '--timeout=500ms', '--concurrency=16']), { timeoutMs: 500, paths: [] });
  assert.deepEqual(plainScan(['scan', '--concurrency', '4', '/a']), { timeoutMs: 2000, paths: ['/a'] });
});

test('any other scan sends no early probe', () => {
  for (const args of [
    ['scan', '--all'],
    ['scan', '--type', 'fuse.sshfs'],
    ['scan', '--concurrency', '0'],
    ['scan', '--concurrency', 'x'],
    ['scan', '--concurrency'],
    ['scan', '--timeout', '0s'],
    ['scan', '--timeout', 'soon'],
    ['scan', '--json', '--npd'],
    ['scan', '--json=yes'],
    ['scan', '--', '/x'],
    ['scan', '-h'],
  ]) {
    assert.equal(plainScan(args), null, args.join(' '));
  }
});
