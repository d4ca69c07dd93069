// Which process is a FUSE mount's daemon, read from a /proc tree written by the test (not a mock: the
// real NodeHost reads it through its root option). The kernel's fdinfo `fuse_connection:` decides.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { KNOWN_DAEMONS } from '../../../src/mounts/backends/index.js';
import { parseMountinfoLine } from '../../../src/mounts/mountinfo/parse.js';
import { findFuseDaemonProof, fuseConnectionOf, readProcessTable } from '../../../src/mounts/process-table.js';

interface Proc {
  pid: number;
  uid: number;
  argv: string[];
  fuse?: Array<number | null>; // one /dev/fuse fd per entry: its connection, or none shown
}

function procTree(osrelease: string, procs: Proc[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-proof-'));
  const p = (...parts: Array<string | number>): string => path.join(root, 'proc', ...parts.map(String));
  fs.mkdirSync(p('sys', 'kernel'), { recursive: true });
  fs.writeFileSync(p('sys', 'kernel', 'osrelease'), `${osrelease}\n`);
  for (const pr of procs) {
    fs.mkdirSync(p(pr.pid, 'fd'), { recursive: true });
    fs.mkdirSync(p(pr.pid, 'fdinfo'));
    fs.writeFileSync(p(pr.pid, 'cmdline'), `${pr.argv.join('\0')}\0`);
    fs.writeFileSync(p(pr.pid, 'stat'), `${pr.pid} (${path.basename(pr.argv[0]!)}) S 1 ${'0 '.repeat(17)}500\n`);
    fs.writeFileSync(p(pr.pid, 'status'), `Uid:\t${pr.uid}\t${pr.uid}\t${pr.uid}\t${pr.uid}\nGid:\t0\t0\t0\t0\n`);
    (pr.fuse ?? []).forEach((conn, i) => {
      const fd = 3 + i;
      fs.symlinkSync('/dev/fuse', p(pr.pid, 'fd', fd));
      fs.writeFileSync(
        p(pr.pid, 'fdinfo', fd),
        `pos:\t0\nflags:\t0100002\nmnt_id:\t24\nino:\t90\n${conn === null ? '' : `fuse_connection:\t${conn}\n`}`,
      );
    });
  }
  return root;
}

const MP = '/srv/stack';
const LOWER = parseMountinfoLine(
  `44 1 0:39 / ${MP} rw,nosuid,nodev - fuse /lower rw,user_id=0,group_id=0,allow_other`,
)!;
const UPPER = parseMountinfoLine(
  `45 44 0:40 / ${MP} rw,nosuid,nodev - fuse /upper rw,user_id=0,group_id=0,allow_other`,
)!;

test('the fuse connection of a mount is its dev_t as the kernel prints it: the minor for major 0', () => {
  assert.equal(fuseConnectionOf({ major: 0, minor: 39 }), 39);
  assert.equal(fuseConnectionOf({ major: 8, minor: 1 }), 8 * 2 ** 20 + 1);
});

test('stacked mounts: each gets the daemon holding its own connection; argv naming the path is not enough', async () => {
  const root = procTree('6.18.44', [
    { pid: 100, uid: 0, argv: ['bindfs', '-f', '/lower', MP], fuse: [39] },
    { pid: 200, uid: 0, argv: ['bindfs', '-f', '-o', 'nonempty', '/upper', MP], fuse: [40] },
    // Another user's process that opened /dev/fuse itself and names the mountpoint: no connection.
    { pid: 300, uid: 1000, argv: ['bindfs', '/upper', MP], fuse: [null] },
  ]);
  const host = new NodeHost({ root });
  const table = await readProcessTable(host);
  const lower = await findFuseDaemonProof(host, LOWER, table, KNOWN_DAEMONS);
  const upper = await findFuseDaemonProof(host, UPPER, table, KNOWN_DAEMONS);
  assert.deepEqual([lower?.process.pid, lower?.proof], [100, 'fdinfo']);
  assert.deepEqual([upper?.process.pid, upper?.proof], [200, 'fdinfo']);
  fs.rmSync(root, { recursive: true });
});

test('with the upper daemon gone, nobody else is taken for it: not the lower daemon, not the impostor', async () => {
  const root = procTree('6.18.44', [
    { pid: 100, uid: 0, argv: ['bindfs', '-f', '/lower', MP], fuse: [39] },
    { pid: 300, uid: 1000, argv: ['bindfs', '/upper', MP], fuse: [null] },
  ]);
  const host = new NodeHost({ root });
  const table = await readProcessTable(host);
  assert.equal(await findFuseDaemonProof(host, UPPER, table, KNOWN_DAEMONS), null);
  fs.rmSync(root, { recursive: true });
});

test('a daemon whose argv names another path (a moved mountpoint) is found by its connection', async () => {
  const root = procTree('6.18.44', [{ pid: 100, uid: 0, argv: ['bindfs', '-f', '/lower', '/old/path'], fuse: [39] }]);
  const host = new NodeHost({ root });
  const found = await findFuseDaemonProof(host, LOWER, await readProcessTable(host), KNOWN_DAEMONS);
  assert.deepEqual([found?.process.pid, found?.proof], [100, 'fdinfo']);
  fs.rmSync(root, { recursive: true });
});

test('before Linux 6.16 (no fuse_connection): the argv hint, but only from a process of the mount owner', async () => {
  const root = procTree('6.1.0', [{ pid: 300, uid: 1000, argv: ['bindfs', '/upper', MP], fuse: [null] }]);
  const host = new NodeHost({ root });
  const table = await readProcessTable(host);
  assert.equal(await findFuseDaemonProof(host, UPPER, table, KNOWN_DAEMONS), null, 'uid 1000 is not user_id=0');
  fs.rmSync(root, { recursive: true });
  const own = procTree('6.1.0', [{ pid: 200, uid: 0, argv: ['bindfs', '/upper', MP], fuse: [null] }]);
  const host2 = new NodeHost({ root: own });
  const found = await findFuseDaemonProof(host2, UPPER, await readProcessTable(host2), KNOWN_DAEMONS);
  assert.deepEqual([found?.process.pid, found?.proof], [200, 'argv-hint']);
  fs.rmSync(own, { recursive: true });
});
