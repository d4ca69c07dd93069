// Live: heal's path checks and the kernel log read through the native helper (requests S and K)
// give what their fallbacks give (stat(1) children, /dev/kmsg read in this process), on real
// directories and the real kernel log, without starting a process; malformed requests are refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { helperPath } from '../../../src/host/probe-engine.js';
import { KMSG_WORDS } from '../../../src/mounts/evidence/kmsg.js';
import { checkPath, existsBounded, type PathCheck } from '../../../src/mounts/heal/path-check.js';
import type { Recipe } from '../../../src/mounts/heal/recipe.js';
import { validateMount } from '../../../src/mounts/heal/validate.js';
import { readMounts } from '../../../src/mounts/scan.js';
import { REPO, liveBindfs, requireBinary, tempDir, useProbeEngine } from '../../helpers/live.js';

// A NodeHost on `engine` that records every program it starts.
function hostOn(engine: 'native' | 'node'): { host: NodeHost; execs: string[][] } {
  const before = process.env.ENOTCONN_PROBE_ENGINE;
  process.env.ENOTCONN_PROBE_ENGINE = engine;
  const host = new NodeHost();
  void host.readLink(`/proc/${process.pid}/cwd`); // its probe engine is chosen now, under this setting
  if (before === undefined) delete process.env.ENOTCONN_PROBE_ENGINE;
  else process.env.ENOTCONN_PROBE_ENGINE = before;
  const execs: string[][] = [];
  const exec = host.exec.bind(host);
  host.exec = (argv, opts) => {
    execs.push([...argv]);
    return exec(argv, opts);
  };
  return { host, execs };
}

function tree(t: TestContext): string {
  const dir = tempDir(t, 'enc-pathcheck-');
  fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  fs.symlinkSync(path.join(dir, 'a'), path.join(dir, 'lnk'));
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'));
  fs.writeFileSync(path.join(dir, 'file'), 'x');
  return dir;
}

test('path checks: the native helper answers as stat(1) does, and starts no process', async (t) => {
  if (!useProbeEngine(t, 'native')) return;
  const dir = tree(t);
  const cases: Array<[string, boolean, PathCheck['ok'], string | null]> = [
    [path.join(dir, 'a', 'b'), true, true, null],
    [path.join(dir, 'a', 'b'), false, true, null],
    [path.join(dir, 'lnk', 'b'), true, false, `symlink ${path.join(dir, 'lnk')}`],
    [path.join(dir, 'lnk', 'b', 'c'), false, false, `symlink ${path.join(dir, 'lnk')}`],
    [path.join(dir, 'file', 'x'), true, false, `not-a-directory ${path.join(dir, 'file')}`],
    [path.join(dir, 'none', 'x', 'y'), true, false, `missing ${path.join(dir, 'none')}`],
    [path.join(dir, 'dangling'), true, false, `symlink ${path.join(dir, 'dangling')}`],
  ];
  const native = hostOn('native');
  const node = hostOn('node');
  t.after(() => {
    native.host.close();
    node.host.close();
  });
  for (const [p, includeLast, ok, problem] of cases) {
    const a = await checkPath(native.host, p, { includeLast, timeoutMs: 2000 });
    const b = await checkPath(node.host, p, { includeLast, timeoutMs: 2000 });
    assert.deepEqual(a, b, `${p} (includeLast ${includeLast})`);
    assert.equal(a.ok, ok, p);
    if (!a.ok) assert.equal(`${a.problem} ${a.at}`, problem);
    else {
      const st = fs.lstatSync(includeLast ? p : path.dirname(p));
      assert.deepEqual(a.dirs.at(-1), {
        path: includeLast ? p : path.dirname(p),
        dev: st.dev,
        ino: st.ino,
        uid: st.uid,
      });
    }
  }
  const exists: Array<[string, boolean]> = [
    [path.join(dir, 'lnk'), true],
    [path.join(dir, 'file'), true],
    [path.join(dir, 'dangling'), false],
    [path.join(dir, 'none'), false],
  ];
  for (const [p, want] of exists) {
    assert.equal(await existsBounded(native.host, p), want, p);
    assert.equal(await existsBounded(node.host, p), want, p);
  }
  assert.deepEqual(native.execs, [], 'the helper answered every check itself');
  assert.equal(node.execs.filter((a) => a[0] === 'stat').length, cases.length + exists.length);
});

test('validation of a mount owned by this user: the helper lists and reads back what ls, find and sha256sum do', async (t) => {
  if (!useProbeEngine(t, 'native') || !requireBinary(t, 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-validate-');
  const src = path.join(dir, 'src');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'b.txt'), 'second\n');
  fs.writeFileSync(path.join(src, 'a name\nwith a newline'), 'first\n');
  fs.writeFileSync(path.join(src, '0big'), Buffer.alloc(1024 * 1024 + 1)); // too big to be the sample
  fs.symlinkSync('b.txt', path.join(src, '0link')); // not a regular file
  fs.mkdirSync(path.join(src, '0dir'));
  await liveBindfs(t, src, mp);
  const native = hostOn('native');
  const node = hostOn('node');
  t.after(() => {
    native.host.close();
    node.host.close();
  });
  const mount = (await readMounts(native.host)).filter((m) => m.mountpoint === mp).at(-1)!;
  const recipe = { backend: 'bindfs', source: src, uid: 0, gid: 0, mountpoint: mp } as Recipe;
  const a = await validateMount(native.host, mount, recipe, 2000);
  const b = await validateMount(node.host, mount, recipe, 2000);
  const sha = createHashOf('first\n');
  for (const v of [a, b]) {
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.sample.how, 'source');
    assert.equal(v.sample.path, 'a name\nwith a newline');
    assert.equal(v.sample.sha256, sha);
  }
  assert.equal(a.entries, 5, 'the helper counts names, newlines and all');
  assert.equal(b.entries, 6, 'ls -A1 prints the newline in a name as a line break');
  assert.deepEqual(native.execs, [], 'no ls, find or sha256sum ran');
  assert.deepEqual(
    node.execs.map((x) => path.basename(x[0]!)),
    ['ls', 'find', 'sha256sum', 'sha256sum'],
  );
  // The source's owner swaps the recorded sample for a symlink to a file only root may read, or
  // names a FIFO: the helper reads neither through the mount, and the read-back fails.
  const secret = path.join(dir, 'secret');
  fs.writeFileSync(secret, 'root only\n', { mode: 0o600 });
  const sample = { path: 'b.txt', sha256: createHashOf('second\n'), recordedAt: '2026-12-01T00:00:00.000Z' };
  fs.rmSync(path.join(src, 'b.txt'));
  fs.symlinkSync(secret, path.join(src, 'b.txt'));
  const viaLink = await validateMount(native.host, mount, { ...recipe, sample }, 2000);
  assert.equal(viaLink.sample.how, 'recorded');
  assert.equal(viaLink.sample.ok, false);
  assert.match(viaLink.sample.detail, /^b\.txt: unreadable \(.*b\.txt: ELOOP\)/);
  assert.equal(viaLink.sample.sha256, undefined, 'the symlink target was not read');
  // (A name the mount has not looked up yet: the kernel keeps the symlink's attributes a while.)
  assert.equal(spawnSync('mkfifo', [path.join(src, 'p.fifo')]).status, 0);
  const fifo = { ...sample, path: 'p.fifo' };
  const viaFifo = await validateMount(native.host, mount, { ...recipe, sample: fifo }, 2000);
  assert.match(viaFifo.sample.detail, /^p\.fifo: unreadable \(.*p\.fifo: EINVAL\)/, 'a FIFO does not hold the open');
  assert.deepEqual(native.execs, []);
});

function createHashOf(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

// Write a record to the kernel log (as root: /dev/kmsg takes one record per write).
function kmsgWrite(text: string): void {
  fs.writeFileSync('/dev/kmsg', `${text}\n`);
}

test('the kernel log: the helper sends the records that hold a word, as this process reads them, and only the last max_records count', async (t) => {
  if (!useProbeEngine(t, 'native')) return;
  const tag = crypto.randomBytes(6).toString('hex');
  const marker = `enotconn-test ${tag} fuse: marker`;
  kmsgWrite(marker);
  kmsgWrite(`enotconn-test ${tag} nothing to see`);
  const native = hostOn('native');
  const node = hostOn('node');
  t.after(() => {
    native.host.close();
    node.host.close();
  });
  const viaHelper = (await native.host.readKmsg(20000, KMSG_WORDS))!;
  const here = (await node.host.readKmsg(20000, KMSG_WORDS))!;
  // Up to the marker: records after it may have arrived between the two reads.
  const upTo = (rs: string[]): string[] => rs.slice(0, rs.findIndex((r) => r.endsWith(marker)) + 1);
  const firstLines = here.map((r) => r.split('\n')[0]!).filter((l) => KMSG_WORDS.some((w) => l.includes(w)));
  assert.ok(
    viaHelper.some((r) => r.endsWith(marker)),
    'the marker came back',
  );
  assert.deepEqual(upTo(viaHelper), upTo(firstLines));
  assert.ok(!viaHelper.some((r) => r.includes(`${tag} nothing to see`)), 'a record without a word is left out');
  assert.ok(viaHelper.every((r) => KMSG_WORDS.some((w) => r.includes(w)) && !r.includes('\n')));
  // Another record followed the marker, so the marker is never the last one: with max_records 1 it
  // is left out, whatever else the kernel logged meanwhile.
  const last1 = (await native.host.readKmsg(1, KMSG_WORDS))!;
  assert.ok(!last1.some((r) => r.endsWith(marker)), 'only the last record counted');
  assert.deepEqual(native.execs, []);
});

test(
  'the helper refuses malformed S and K requests',
  { skip: helperPath(path.join(REPO, 'dist/src/host')) === null },
  () => {
    const helper = helperPath(path.join(REPO, 'dist/src/host'))!;
    const hex = (s: string): string => Buffer.from(s).toString('hex');
    const input = [
      `S 1 1000 q ${hex('/')}`, // neither p nor f
      `S 2 1000 p ${hex('relative/x')}`, // not absolute
      `S 3 1000 p ${hex('/')}zz`, // not hex
      `K 4 1000 0 ${hex('fuse: ')}`, // no records asked for
      `K 5 1000 10 ${hex('fuse: ')}0`, // odd hex
      `S 6 1000 p ${hex('/')}`, // fine
    ].join('\n');
    const r = spawnSync(helper, [], { input: `${input}\n`, encoding: 'utf8', timeout: 10_000 });
    const lines = r.stdout.trim().split('\n').sort();
    assert.deepEqual(
      lines.slice(0, 5),
      [1, 2, 3, 4, 5].map((i) => `E ${i} malformed request`),
    );
    const st = fs.lstatSync('/');
    assert.equal(lines[5], `S 6 ok ${st.dev}:${st.ino}:0:${st.mode}`);
  },
);
