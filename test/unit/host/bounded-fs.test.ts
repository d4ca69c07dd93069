// The native helper's stat and directory requests give what stat(1), `ls -A` and `find -type f`
// give, and heal's path check reads the same through the helper as through a `stat` child.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { helperPath } from '../../../src/host/probe-engine.js';
import { checkPath, existsBounded } from '../../../src/mounts/heal/path-check.js';
import { REPO } from '../../helpers/live.js';

function setup(t: TestContext): { dir: string; host: NodeHost } | null {
  if (helperPath(path.join(REPO, 'dist/src/host')) === null) {
    t.skip('SKIPPED: the native helper was not built (no C compiler)');
    return null;
  }
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'enc-perf-bfs-')));
  const host = new NodeHost({ runDir: path.join(dir, 'run'), stateDir: path.join(dir, 'state') });
  t.after(() => {
    host.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, host };
}

test('native helper: lstat and stat of paths are what stat(1) prints, a missing one null', async (t) => {
  const s = setup(t);
  if (!s) return;
  const { dir, host } = s;
  fs.mkdirSync(path.join(dir, 'a'));
  fs.symlinkSync(path.join(dir, 'a'), path.join(dir, 'link'));
  const fsx = host.boundedFs()!;
  const paths = ['/', dir, path.join(dir, 'link'), path.join(dir, 'nope')];
  const want = spawnSync('stat', ['--printf=%d %i %u %g %f\n', '--', ...paths.slice(0, 3)], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .map((l) => {
      const [dev, ino, uid, gid, mode] = l.split(' ');
      return { dev: Number(dev), ino: Number(ino), uid: Number(uid), gid: Number(gid), mode: parseInt(mode!, 16) };
    });
  assert.deepEqual(await fsx.stat(paths, false, 2000), { ok: true, stats: [...want, null] });
  const followed = await fsx.stat([path.join(dir, 'link')], true, 2000);
  assert.ok(followed.ok);
  assert.equal(followed.stats[0]!.ino, fs.statSync(path.join(dir, 'a')).ino, 'followed to the directory');
});

test('native helper: a directory summary counts entries as ls -A and picks find’s first regular file', async (t) => {
  const s = setup(t);
  if (!s) return;
  const { dir, host } = s;
  const d = path.join(dir, 'top');
  fs.mkdirSync(path.join(d, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(d, 'zeta'), 'z');
  fs.writeFileSync(path.join(d, 'beta'), 'b');
  fs.writeFileSync(path.join(d, '.hidden-big'), Buffer.alloc(2048));
  fs.symlinkSync(path.join(d, 'beta'), path.join(d, 'alpha-link'));
  const fsx = host.boundedFs()!;
  const ls = spawnSync('ls', ['-A1', '--', d], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l !== '');
  assert.deepEqual(await fsx.summarizeDir(d, null, 2000), { ok: true, entries: ls.length, firstFile: null });
  // Regular files only (not the symlink), at most 1 KiB here: the 2 KiB dot file is left out.
  assert.deepEqual(await fsx.summarizeDir(d, 1024, 2000), { ok: true, entries: 5, firstFile: 'beta' });
  assert.deepEqual(await fsx.summarizeDir(path.join(d, 'alpha-link'), 1024, 2000), {
    ok: false,
    timedOut: false,
    detail: 'ENOTDIR',
  });
  const r = await fsx.read(path.join(d, 'zeta'), 100, 2000);
  assert.deepEqual(r.ok ? r.data.toString() : r, 'z');
});

test('heal’s path check through the helper: a symlink and a missing component are refused', async (t) => {
  const s = setup(t);
  if (!s) return;
  const { dir, host } = s;
  fs.mkdirSync(path.join(dir, 'real', 'mnt'), { recursive: true });
  fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'sym'));
  const ok = await checkPath(host, path.join(dir, 'real', 'mnt'), { includeLast: true, timeoutMs: 2000 });
  assert.ok(ok.ok);
  assert.deepEqual(
    ok.dirs.map((x) => [x.path, x.ino]),
    ['/', ...path.join(dir, 'real', 'mnt').split('/').slice(1)].map((_, i, a) => {
      const p = i === 0 ? '/' : `/${a.slice(1, i + 1).join('/')}`;
      return [p, fs.lstatSync(p).ino];
    }),
  );
  assert.deepEqual(await checkPath(host, path.join(dir, 'sym', 'mnt'), { includeLast: false, timeoutMs: 2000 }), {
    ok: false,
    problem: 'symlink',
    at: path.join(dir, 'sym'),
    detail: `${path.join(dir, 'sym')} is a symbolic link`,
  });
  const missing = await checkPath(host, path.join(dir, 'gone', 'mnt'), { includeLast: true, timeoutMs: 2000 });
  assert.deepEqual(missing.ok ? null : [missing.problem, missing.at], ['missing', path.join(dir, 'gone')]);
  assert.equal(await existsBounded(host, path.join(dir, 'sym', 'mnt')), true);
  assert.equal(await existsBounded(host, path.join(dir, 'gone')), false);
});

test('native helper: the kernel log read in one request holds the records /dev/kmsg gives one read at a time', async (t) => {
  const s = setup(t);
  if (!s) return;
  const byReads = await new NodeHost({ root: '/' }).readKmsg(); // a /proc root other than '' reads itself
  if (byReads === null) {
    t.skip('SKIPPED: /dev/kmsg is not readable here');
    return;
  }
  const inOne = await s.host.readKmsg();
  assert.ok(inOne !== null);
  // Records logged between the two reads come after the ones both saw.
  assert.deepEqual(inOne.slice(0, byReads.length), byReads);
  assert.ok(byReads.length > 0 && byReads.every((r) => /^\d+,\d+,\d+,/.test(r)));
});
