// The probe engines' wire protocol, spoken to the real native helper and the real Node probe
// child (no mounts: `/`, a missing path and a temporary registry), plus errno classification and
// the run-as rule for FUSE mounts without allow_other.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { helperPath, spawnEngine } from '../../../src/host/probe-engine.js';
import { parseProbeLine, parseReadLine, probeLine, readLine, toHex } from '../../../src/host/probe-protocol.js';
import { processStartTicks } from '../../../src/host/stuck-registry.js';
import { classifyErrnoNumber, classifyProbeErrno, errnoName } from '../../../src/mounts/probe/classify.js';
import { probeRunAs } from '../../../src/mounts/probe/run-as.js';
import { parseMountinfo } from '../../../src/mounts/mountinfo/parse.js';
import { REPO } from '../../helpers/live.js';

// Send request lines to a fresh engine, then close its stdin; every reply line once it exits.
function converse(child: ChildProcess, lines: string[]): Promise<string[]> {
  return new Promise((resolve) => {
    let out = '';
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (s: string) => (out += s));
    child.on('exit', () => resolve(out.split('\n').filter((l) => l !== '')));
    child.stdin!.end(`${lines.join('\n')}\n`);
  });
}

function registry(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-perf-reg-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'run', 'probes'); // not created yet: the engine makes it
}

for (const engine of ['native', 'node'] as const) {
  test(`${engine} engine: healthy, ENOENT at statfs, a held claim, a stale claim and a malformed line`, async (t) => {
    const helper = helperPath(path.join(REPO, 'dist/src/host'));
    if (engine === 'native' && helper === null) {
      t.skip('SKIPPED: the native helper was not built (no C compiler)');
      return;
    }
    const reg = registry(t);
    fs.mkdirSync(reg, { recursive: true });
    // A claim held by a live process (this one), and one left by a process that is gone.
    fs.writeFileSync(path.join(reg, 'held'), `${process.pid} ${processStartTicks('self')} 1234\n`);
    fs.writeFileSync(path.join(reg, 'stale'), `${process.pid} 1 99\n`);
    const child = spawnEngine(engine, helper, reg, 4);
    const replies = await converse(child, [
      probeLine({ id: 1, timeoutMs: 2000, uid: -1, gid: -1, hash: 'a1', path: '/' }),
      probeLine({ id: 2, timeoutMs: 2000, uid: -1, gid: -1, hash: '-', path: '/no/such/dir\n x' }),
      probeLine({ id: 3, timeoutMs: 2000, uid: -1, gid: -1, hash: 'held', path: '/' }),
      probeLine({ id: 4, timeoutMs: 2000, uid: -1, gid: -1, hash: 'stale', path: '/' }),
      'P 5 1000 -1 -1 x/y 2f',
      'P 6 1000 -1 -1 h nothex',
    ]);
    const byId = new Map(replies.map((l) => [l.split(' ')[1], l.startsWith('P ') ? l.replace(/ \d+$/, ' <us>') : l]));
    assert.equal(byId.get('1'), 'P 1 ok <us>');
    assert.equal(byId.get('2'), 'P 2 err 2 s <us>');
    assert.equal(byId.get('3'), 'B 3 1234', 'a live holder’s probe is not doubled');
    assert.equal(byId.get('4'), 'P 4 ok <us>', 'a dead holder’s claim is taken over');
    assert.equal(byId.get('5'), 'E 5 malformed request', 'a registry name is never a path');
    assert.equal(byId.get('6'), 'E 6 malformed request');
    assert.equal(replies.length, 6);
    assert.deepEqual(
      fs
        .readdirSync(reg)
        .filter((n) => n !== 'probes.lock')
        .sort(),
      ['held'],
      'every claim this engine made is released',
    );
  });
}

for (const engine of ['native', 'node'] as const) {
  test(`${engine} engine: a bounded read returns at most the cap, a readlink its target, a missing file its errno`, async (t) => {
    const helper = helperPath(path.join(REPO, 'dist/src/host'));
    if (engine === 'native' && helper === null) {
      t.skip('SKIPPED: the native helper was not built (no C compiler)');
      return;
    }
    const child = spawnEngine(engine, helper, registry(t), 1);
    const replies = await converse(child, [
      readLine({ id: 1, timeoutMs: 1000, maxBytes: 5, path: '/proc/self/status' }),
      readLine({ id: 2, timeoutMs: 1000, maxBytes: 64, path: '/proc/self/nonexistent' }),
      readLine({ id: 3, timeoutMs: 1000, maxBytes: 4096, path: `/proc/${process.pid}/cwd`, link: true }),
      readLine({ id: 4, timeoutMs: 1000, maxBytes: 4096, path: '/proc/self/status', link: true }),
    ]);
    assert.deepEqual(replies.sort(), [
      `D 1 ok ${toHex('Name:')}`,
      'D 2 err 2',
      `D 3 ok ${toHex(process.cwd())}`,
      'D 4 err 22', // EINVAL: not a symlink
    ]);
  });
}

test('read and readlink lines carry any path byte for byte, and reject what is not a request', () => {
  const r = { id: 3, timeoutMs: 900, maxBytes: 100, path: '/proc/12/task/12/stat' };
  assert.deepEqual(parseReadLine(readLine(r)), r);
  const l = { id: 4, timeoutMs: 900, maxBytes: 4096, path: '/proc/12/fd/3', link: true };
  assert.equal(readLine(l), `L 4 900 ${toHex('/proc/12/fd/3')}`);
  assert.deepEqual(parseReadLine(readLine(l)), l);
  assert.equal(parseReadLine(`R 1 10 0 ${toHex('/proc/1/stat')}`), null, 'nothing to read');
  assert.equal(parseReadLine(`R 1 10 ${8 * 1024 * 1024} ${toHex('/proc/1/stat')}`), null, 'over the cap');
  assert.equal(parseReadLine(`L 1 10 ${toHex('proc/1/cwd')}`), null, 'a relative path');
  assert.equal(parseReadLine('L 1 10 5 2f'), null);
});

test('probe lines carry any path byte for byte, and reject what is not a request', () => {
  const req = { id: 7, timeoutMs: 1500, uid: 1000, gid: 1000, hash: 'abc', path: '/mnt/a b\nc/données' };
  assert.deepEqual(parseProbeLine(probeLine(req)), req);
  assert.equal(parseProbeLine('P 1 0 -1 -1 h 2f'), null, 'a zero timeout');
  assert.equal(parseProbeLine(`P 1 10 -1 -1 h ${toHex('relative')}`), null, 'a relative path');
  assert.equal(parseProbeLine('R 1 10 5 2f'), null);
});

test('probe errnos are classified by number, including those libuv cannot name', () => {
  assert.deepEqual(
    [107, 103, 116, 5, 13, 1, 112].map((n) => [errnoName(n), classifyErrnoNumber(n)]),
    [
      ['ENOTCONN', 'dead'],
      ['ECONNABORTED', 'dead'],
      ['ESTALE', 'stale'],
      ['EIO', 'io-error'],
      ['EACCES', 'denied'],
      ['EPERM', 'denied'],
      ['EHOSTDOWN', 'unknown'],
    ],
  );
  assert.equal(classifyProbeErrno('ESTALE'), 'stale');
  assert.equal(errnoName(4095), 'E4095');
});

test('root probes a FUSE mount without allow_other as its owner, and nothing else', () => {
  const line = (type: string, opts: string): string => `40 27 0:50 / /mnt/m rw,nosuid - ${type} src ${opts}`;
  const [user, other, rootOwned, nfs] = parseMountinfo(
    [
      line('fuse.sshfs', 'rw,user_id=1000,group_id=100'),
      line('fuse.sshfs', 'rw,user_id=1000,group_id=100,allow_other'),
      line('fuse', 'rw,user_id=0,group_id=0'),
      line('nfs4', 'rw,vers=4.2'),
    ].join('\n'),
  );
  assert.deepEqual(probeRunAs(user!, 0), { uid: 1000, gid: 100 });
  assert.deepEqual(probeRunAs(user!, 1000), {}, 'its owner probes it as itself');
  assert.deepEqual(probeRunAs(other!, 0), {});
  assert.deepEqual(probeRunAs(rootOwned!, 0), {});
  assert.deepEqual(probeRunAs(nfs!, 0), {});
});
