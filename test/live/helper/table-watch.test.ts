// Live: the native helper's mount table watch (request W). It says `changed` once for each real
// mount, remount and unmount in its namespace and nothing while the table stays as it is; the
// host's mountTableMayHaveChanged follows it (false only while the helper saw no change), and is
// always true on the Node engine, which does not watch. Malformed W requests are refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { helperPath } from '../../../src/host/probe-engine.js';
import { REPO, helperProcess, tempDir, useProbeEngine, waitFor } from '../../helpers/live.js';

const HELPER = helperPath(path.join(REPO, 'dist/src/host'));

function mount(...argv: string[]): void {
  const r = spawnSync('/usr/bin/mount', argv, { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount ${argv.join(' ')}: ${r.stderr}`);
}

function umount(mp: string): void {
  const r = spawnSync('/usr/bin/umount', [mp], { encoding: 'utf8' });
  assert.equal(r.status, 0, `umount ${mp}: ${r.stderr}`);
}

test(
  'the helper says `changed` once for each mount, remount and unmount, and nothing in between',
  { skip: HELPER === null ? 'SKIPPED: the native helper was not built (no C compiler)' : false },
  async (t) => {
    const dir = tempDir(t, 'enc-tablewatch-');
    const h = helperProcess(t);
    h.send('W 5');
    await waitFor(() => h.lines.length >= 1, 5000, 'the watch to arm');
    assert.deepEqual(h.lines, ['W 5 ok']);
    // A request answered on a pool thread proves the main loop went round without a change.
    h.send(`S 6 1000 f ${Buffer.from('/').toString('hex')}`);
    await waitFor(() => h.lines.length >= 2, 5000, 'the stat');
    assert.match(h.lines[1]!, /^S 6 ok /);
    const steps: Array<[string, () => void]> = [
      ['mount', () => mount('-t', 'tmpfs', '-o', 'size=1m', 'enc-tw', dir)],
      ['remount', () => mount('-o', 'remount,ro', dir)],
      ['unmount', () => umount(dir)],
    ];
    for (const [what, step] of steps) {
      const before = h.lines.length;
      step();
      await waitFor(() => h.lines.length > before, 5000, `the helper to see the ${what}`);
      assert.deepEqual(h.lines.slice(before), ['W 5 changed'], what);
      h.send(`S 7 1000 f ${Buffer.from('/').toString('hex')}`); // and then quiet again
      await waitFor(() => h.lines.length > before + 1, 5000, 'the stat');
      assert.deepEqual(
        h.lines.slice(before + 1).map((l) => l.split(' ').slice(0, 3).join(' ')),
        ['S 7 ok'],
        what,
      );
    }
    h.send('W x');
    h.send('W 8 9');
    h.send('W -3');
    await waitFor(() => h.lines.filter((l) => l.startsWith('E ')).length === 3, 5000, 'three refusals');
    assert.deepEqual(
      h.lines.filter((l) => l.startsWith('E ')),
      ['E -1 malformed request', 'E 8 malformed request', 'E -3 malformed request'],
    );
  },
);

test("the host's mountTableMayHaveChanged: false while the helper saw no change, true after one", async (t) => {
  if (!useProbeEngine(t, 'native')) return;
  const dir = tempDir(t, 'enc-tablewatch-');
  fs.mkdirSync(path.join(dir, 'mp'));
  const mp = path.join(dir, 'mp');
  const host = new NodeHost();
  t.after(() => host.close());
  assert.equal(host.mountTableMayHaveChanged(), true, 'no helper running yet');
  await host.readLink(`/proc/${process.pid}/cwd`); // the helper starts
  await waitFor(() => !host.mountTableMayHaveChanged(), 5000, 'the watch to arm and settle');
  assert.equal(host.mountTableMayHaveChanged(), false);
  mount('-t', 'tmpfs', '-o', 'size=1m', 'enc-tw', mp);
  await waitFor(() => host.mountTableMayHaveChanged(), 5000, 'the mount to be seen');
  assert.equal(host.mountTableMayHaveChanged(), false, 'said once per change');
  umount(mp);
  await waitFor(() => host.mountTableMayHaveChanged(), 5000, 'the unmount to be seen');
});

test('the Node engine does not watch: mountTableMayHaveChanged is always true', async (t) => {
  if (!useProbeEngine(t, 'node')) return;
  const host = new NodeHost();
  t.after(() => host.close());
  await host.readLink(`/proc/${process.pid}/cwd`); // the Node probe child starts
  for (let i = 0; i < 5; i++) assert.equal(host.mountTableMayHaveChanged(), true);
});
