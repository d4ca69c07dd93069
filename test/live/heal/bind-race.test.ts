// Live, adversarial: the FUSE owner races heal's re-bind. A bind of /sub/data of a bindfs mount is
// left dead with it; while heal remounts the filesystem and binds /sub/data again from the new
// mount, a loop swaps `sub` in the source directory for a symlink to a directory outside the mount
// (bindfs shows that symlink as it is) and back. With the native helper the bind is made by file
// descriptors: resolved without symlinks and checked by inode, so whatever the timing, root never
// binds the directory outside. Each round asserts what is bound, never how fast anything is.
// (With ENOTCONN_PROBE_ENGINE=node, where the bind falls back to the lstat-checked mount(8), the
// owner wins this race within a few rounds on this machine: mount(8) follows the symlink.)
// Zero FUSE entry and attribute timeouts make every lookup through the mount reach bindfs, so the
// swap in the source directory is seen at once; scan records the daemon's argv with them.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { HealReport } from '../../../src/mounts/heal/apply.js';
import { helperPath } from '../../../src/host/probe-engine.js';
import {
  REPO,
  exited,
  killHard,
  mountsOn as at,
  privateDirs,
  requireBinary,
  runCli,
  startFuseDaemon,
  tempDir,
  waitFor,
} from '../../helpers/live.js';

test('a symlink swapped in under the bind source while heal re-binds: root never binds anything outside the mount', async (t) => {
  if (!requireBinary(t, 'bindfs', 'cc')) return;
  if (helperPath(path.join(REPO, 'dist/src/host')) === null) {
    t.skip('SKIPPED: the native helper was not built (no C compiler): binds fall back to mount(8)');
    return;
  }
  const dir = tempDir(t, 'enc-trust-bindrace-');
  const src = path.join(dir, 'src');
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(path.join(src, 'sub', 'data'), { recursive: true });
  fs.writeFileSync(path.join(src, 'sub', 'data', 'mine.txt'), 'mine\n');
  fs.mkdirSync(path.join(outside, 'data'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'data', 'SECRET'), 'secret\n');
  const mp = path.join(dir, 'mnt');
  const b = path.join(dir, 'b');
  fs.mkdirSync(b);
  const env = privateDirs(t);
  t.after(() => {
    for (let i = 0; i < 3 && at(b).length > 0; i++) spawnUmount(b);
  });
  // The owner's swap: `sub` and a symlink to the outside directory exchanged atomically
  // (renameat2 RENAME_EXCHANGE), as fast as it goes, until the flag file is removed; it always ends
  // with `sub` the real directory again.
  const swapper = path.join(dir, 'swap-exchange');
  const cc = spawnSync('cc', ['-O2', '-o', swapper, path.join(REPO, 'test/helpers/swap-exchange.c')], {
    encoding: 'utf8',
  });
  assert.equal(cc.status, 0, cc.stderr);
  fs.symlinkSync(outside, path.join(src, 'lnk'));
  const flag = path.join(dir, 'racing');
  const outcomes: string[] = [];
  for (let round = 0; round < 8; round++) {
    const m = await startFuseDaemon(
      t,
      ['bindfs', '-f', '-o', 'entry_timeout=0,attr_timeout=0,negative_timeout=0', src, mp],
      mp,
    );
    await runCli(['scan', '--json', mp], { env });
    const bind = spawnMount(['--bind', path.join(mp, 'sub', 'data'), b]);
    assert.equal(bind, 0, 'the bind of /sub/data is made');
    assert.equal(fs.readFileSync(path.join(b, 'mine.txt'), 'utf8'), 'mine\n');
    process.kill(m.daemonPid, 'SIGKILL');
    await waitFor(() => exited(m.daemonPid), 5000, 'the daemon to die');
    fs.writeFileSync(flag, '');
    const loop = spawn(swapper, [path.join(src, 'sub'), path.join(src, 'lnk'), flag], {
      stdio: 'ignore',
      detached: true,
    });
    t.after(() => killHard(loop.pid!));
    const r = await runCli(['heal', '--json', mp], {
      env: { ...env, ENOTCONN_PROBE_ENGINE: 'native' },
      timeoutMs: 90_000,
    });
    fs.rmSync(flag);
    await waitFor(() => exited(loop.pid!), 10_000, 'the swap loop to stop');
    assert.equal(fs.lstatSync(path.join(src, 'sub')).isDirectory(), true);
    const report = JSON.parse(r.stdout) as HealReport;
    const rebind = report.steps.find((s) => s.step.argv?.includes('--bind'));
    outcomes.push(`${report.result}: ${rebind ? (rebind.refused ?? rebind.output) : 'no re-bind step'}`);
    // Whatever the timing: what is on b is the mount's own /sub/data, or nothing.
    const healed = at(mp).at(-1);
    for (const x of at(b)) {
      assert.equal(x.root, '/sub/data', `round ${round}: b shows ${x.root} (${x.fstype} ${x.source})`);
      assert.equal(x.source, src);
      if (healed) assert.equal(`${x.major}:${x.minor}`, `${healed.major}:${healed.minor}`);
    }
    assert.equal(fs.existsSync(path.join(b, 'SECRET')), false, `round ${round}: the outside directory is bound`);
    // A bind that was made was made by the helper (a refused or failed one bound nothing: checked above).
    if (rebind?.ok) assert.match(rebind.output, /^bound by file descriptors/);
    // Next round from the same start: the mount and its bind, alive.
    for (let i = 0; i < 3 && at(b).length > 0; i++) spawnUmount(b);
    for (let i = 0; i < 3 && at(mp).length > 0; i++) spawnUmount(mp);
  }
  t.diagnostic(`rounds: ${outcomes.join(' | ')}`);
});

function spawnMount(args: string[]): number | null {
  return spawnSync('mount', args, { stdio: 'ignore', timeout: 10_000 }).status;
}

function spawnUmount(p: string): void {
  spawnSync('umount', ['-l', '--no-canonicalize', p], { stdio: 'ignore', timeout: 10_000 });
}
