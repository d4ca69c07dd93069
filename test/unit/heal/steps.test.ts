// The step executor and heal, on the honest FakeHost: an in-memory mount table that umount and
// mount commands really change, a /proc with /dev/fuse fdinfo, and a directory tree for lstat
// walks. Each test asserts the exact commands run (or that none ran) and the mount table after.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { type FakeHost, unwrap } from '../../../src/host/fake-host.js';
import type { PlanStep } from '../../../src/mounts/diagnosis.js';
import { healMount } from '../../../src/mounts/heal/apply.js';
import { checkPath } from '../../../src/mounts/heal/path-check.js';
import { RecipeStore } from '../../../src/mounts/heal/recipe-store.js';
import type { Recipe } from '../../../src/mounts/heal/recipe.js';
import { runPlan, runStep, type StepContext } from '../../../src/mounts/heal/steps.js';
import type { MountInfo } from '../../../src/mounts/mountinfo/parse.js';
import { fakeHostInTempDir } from '../../helpers/fake-host.js';

const MP = '/srv/data/mnt';

function fake(): { host: FakeHost; mount: MountInfo; stateDir: string } {
  const { host, stateDir } = fakeHostInTempDir('enc-trust-fake-');
  host.addDir('/srv/data/src');
  const mount = host.addMount({
    id: 77,
    mountpoint: MP,
    fstype: 'fuse',
    source: '/srv/data/src',
    major: 0,
    minor: 61,
    options: ['rw', 'nosuid', 'nodev', 'noexec', 'relatime'],
    superOptions: ['rw', 'user_id=1001', 'group_id=1001', 'default_permissions'],
  });
  host.files.set('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nenctest:x:1001:1001::/home/enctest:/bin/sh\n');
  return { host, mount, stateDir };
}

async function ctxFor(host: FakeHost, extra: Partial<StepContext> = {}): Promise<StepContext> {
  const c = await checkPath(host, MP, { includeLast: false, timeoutMs: 1000 });
  assert.ok(c.ok);
  return { host, force: false, healId: 'test', origin: 'heal', parents: c.dirs, ...extra };
}

const target = { mountId: 77, device: '0:61', mountpoint: MP };
const unmount: PlanStep = {
  action: 'unmount',
  argv: ['/usr/bin/umount', '--no-canonicalize', '--', MP],
  target,
  risk: 'safe',
  why: 'test',
};
const remount: PlanStep = {
  action: 'remount',
  argv: [
    '/usr/bin/setpriv',
    '--reuid=1001',
    '--regid=1001',
    '--init-groups',
    '--reset-env',
    '--',
    '/usr/bin/bindfs',
    '/srv/data/src',
    MP,
  ],
  target,
  risk: 'safe',
  why: 'test',
};

function auditLines(stateDir: string, host: FakeHost): Array<Record<string, unknown>> {
  const text = host.files.get(path.join(stateDir, 'heal-audit.jsonl')) ?? '';
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('the executor refuses a requiresForce step without --force, and runs nothing', async () => {
  const { host } = fake();
  const ctx = await ctxFor(host);
  const before = host.execs().length;
  const r = await runStep(ctx, { ...unmount, action: 'unmount-force', requiresForce: true }, 0);
  assert.equal(r.ok, false);
  assert.match(r.refused ?? '', /requires --force/);
  assert.equal(host.execs().length, before);
  assert.deepEqual(
    host.mounts.map((m) => m.id),
    [77],
  );
});

test('unmount acts only on the mount id it was planned for: another mount at the path is left alone', async () => {
  const { host } = fake();
  const ctx = await ctxFor(host);
  // Someone mounted over the dead mount after the plan was made.
  const other = host.addMount({ id: 78, mountpoint: MP, fstype: 'fuse.sshfs', source: 'x:/', minor: 62 });
  const r = await runStep(ctx, unmount, 0);
  assert.match(r.refused ?? '', /another mount now covers mount 77/);
  assert.deepEqual(
    host.mounts.map((m) => m.id),
    [77, other.id],
  );
  assert.equal(
    host.execs().some((a) => a[0] === '/usr/bin/umount'),
    false,
  );
});

test('unmount refuses when a parent directory became a symlink or another directory since the plan', async () => {
  const { host } = fake();
  const ctx = await ctxFor(host);
  host.inodes.set('/srv/data', { dev: 8, ino: 999, uid: 1001, gid: 1001, type: 'symlink' });
  const r = await runStep(ctx, unmount, 0);
  assert.match(r.refused ?? '', /\/srv\/data is a symbolic link/);
  host.inodes.set('/srv/data', { dev: 8, ino: 999, uid: 1001, gid: 1001, type: 'dir' });
  const r2 = await runStep(ctx, unmount, 0);
  assert.match(r2.refused ?? '', /\/srv\/data is no longer the directory/);
  assert.deepEqual(
    host.mounts.map((m) => m.id),
    [77],
  );
});

test('remount runs only once the old mount is gone, onto the same directory; a vanished path gets no mount', async () => {
  const { host, mount } = fake();
  const ctx = await ctxFor(host, { mountAppearMs: 0, oldOptions: mount.options });
  const early = await runStep(ctx, remount, 1);
  assert.match(early.refused ?? '', /still in the mount table/);
  assert.equal((await runStep(ctx, unmount, 0)).ok, true);
  host.inodes.delete(MP);
  const gone = await runStep(ctx, remount, 1);
  assert.match(gone.refused ?? '', /not remounting: \/srv\/data\/mnt does not exist/);
  assert.equal(
    host.actions.some((a) => a.kind === 'mount'),
    false,
  );
  host.addDir(MP);
  const good = await runStep(ctx, remount, 1);
  assert.equal(good.ok, false, 'the fake mount lacks nosuid,nodev,noexec: the executor says so');
  assert.match(good.output, /lacks nosuid, nodev, noexec/);
});

test('runPlan escalates: the remount is not run when no unmount step took the mount away', async () => {
  const { host } = fake();
  host.handlers.push((argv) => (argv[0] === '/usr/bin/umount' ? { code: 32, stderr: 'target is busy' } : null));
  const ctx = await ctxFor(host);
  const run = await runPlan(ctx, [unmount, { ...unmount, action: 'unmount-lazy' }, remount]);
  assert.equal(run.failure, 'every unmount step failed; the dead mount is still in place');
  assert.deepEqual(
    run.results.map((r) => [r.step.action, r.ok, r.skipped]),
    [
      ['unmount', false, false],
      ['unmount-lazy', false, false],
      ['remount', false, true],
    ],
  );
  assert.equal(
    host.execs().some((a) => a[0] === '/usr/bin/setpriv'),
    false,
  );
});

function deadFuse(host: FakeHost): void {
  host.probes.set(MP, { state: 'dead', errno: 'ENOTCONN', syscall: 'statfs', latencyMs: 0.1 });
}

test('heal refuses denied, unknown and io-error mounts without --force, and changes nothing', async () => {
  for (const state of ['denied', 'unknown', 'io-error'] as const) {
    const { host } = fake();
    host.probes.set(MP, { state, errno: state === 'denied' ? 'EACCES' : 'EIO', syscall: 'statfs', latencyMs: 0.1 });
    const r = await healMount(host, MP, { dryRun: false, force: false, propagate: false, timeoutMs: 200 });
    assert.equal(r.result, 'refused', state);
    // denied is re-probed as the owner (stat -f via setpriv): the fake answers it like the others.
    assert.ok(r.refusal === 'needs-force' || r.refusal === 'healthy', `${state}: ${r.refusal} ${r.reason}`);
    assert.deepEqual(
      host.mounts.map((m) => m.id),
      [77],
      state,
    );
    assert.deepEqual(
      host.actions.filter((a) => a.kind === 'mount' || a.kind === 'unmount'),
      [],
      state,
    );
  }
});

test('a dead FUSE mount first seen dead: heal unmounts mount 77 by id and remounts as user_id= with nosuid,nodev,noexec', async () => {
  const { host, stateDir } = fake();
  deadFuse(host);
  const r = await healMount(host, MP, { dryRun: false, force: false, propagate: false, timeoutMs: 200 });
  assert.equal(r.recipe?.origin, 'reconstructed');
  const runs = host.execs().filter((a) => /umount|setpriv|fusermount/.test(a[0] ?? ''));
  const remountArgv = runs.find((a) => a[0] === '/usr/bin/setpriv' && unwrap(a)[0] === '/usr/bin/bindfs');
  assert.ok(remountArgv, JSON.stringify(runs));
  assert.deepEqual(remountArgv.slice(0, 6), [
    '/usr/bin/setpriv',
    '--reuid=1001',
    '--regid=1001',
    '--init-groups',
    '--reset-env',
    '--',
  ]);
  // The rebuilt recipe asks for the old mount's security options itself; they are not repeated.
  assert.deepEqual(unwrap(remountArgv), [
    '/usr/bin/bindfs',
    '--no-allow-other',
    '-o',
    'nosuid,nodev,noexec',
    '/srv/data/src',
    MP,
  ]);
  assert.equal(remountArgv.includes('PATH=/usr/sbin:/usr/bin:/sbin:/bin'), true);
  assert.deepEqual(runs[0], ['/usr/bin/umount', '--no-canonicalize', '--', MP]);
  // Each step the executor ran is audited exactly once, with the heal's summary after them.
  const audit = auditLines(stateDir, host);
  const steps = audit.filter((l) => l.kind === 'step').map((l) => l.action);
  assert.deepEqual(steps, ['unmount', 'remount']);
  assert.equal(audit.filter((l) => l.kind === 'heal').length, 1);
});

test('an untrusted recorded recipe is shown but not run without --force', async () => {
  const { host, stateDir } = fake();
  deadFuse(host);
  const recipe: Recipe = {
    mountpoint: MP,
    source: '/srv/data/src',
    fstype: 'fuse',
    backend: 'bindfs',
    argv: ['/home/enctest/bin/bindfs', '/srv/data/src', MP],
    uid: 1001,
    gid: 1001,
    cwd: null,
    env: { PATH: '/home/enctest/bin:/usr/bin' },
    origin: 'recorded',
    recordedAt: '2026-12-01T09:00:00.000Z',
    missing: [],
    trust: {
      trusted: false,
      holdsConnection: true,
      ownerMatches: true,
      exe: '/home/enctest/bin/bindfs',
      exeTrusted: false,
      reasons: [
        'its executable /home/enctest/bin/bindfs is not a root-owned binary in /usr/sbin, /usr/bin, /sbin or /bin',
      ],
    },
  };
  const store = await RecipeStore.open(host);
  store.putMany([{ recipe, daemonPid: 4000, daemonStart: 1 }]);
  store.close();
  const r = await healMount(host, MP, { dryRun: false, force: false, propagate: false, timeoutMs: 200 });
  assert.equal(r.result, 'refused');
  assert.equal(r.refusal, 'untrusted-recipe');
  assert.match(r.reason, /home\/enctest\/bin\/bindfs is not a root-owned binary/);
  assert.deepEqual(
    host.mounts.map((m) => m.id),
    [77],
  );
  const dry = await healMount(host, MP, { dryRun: true, force: true, propagate: false, timeoutMs: 200 });
  const argv = dry.plan?.at(-1)?.argv ?? [];
  assert.equal(
    argv.some((a) => a.includes('/home/enctest/bin')),
    false,
    'even with --force the home-directory binary and its PATH are never used',
  );
  assert.ok(argv.includes('/usr/bin/bindfs'));
  fs.rmSync(stateDir, { recursive: true, force: true });
});

test('the store: an untrusted recipe never replaces another uid’s, a trusted one does', async () => {
  const { host, stateDir } = fake();
  const base: Recipe = {
    mountpoint: MP,
    source: '/srv/data/src',
    fstype: 'fuse',
    backend: 'bindfs',
    argv: ['bindfs', '/srv/data/src', MP],
    uid: 0,
    gid: 0,
    cwd: null,
    env: {},
    origin: 'recorded',
    recordedAt: null,
    missing: [],
    trust: {
      trusted: true,
      holdsConnection: true,
      ownerMatches: true,
      exe: '/usr/bin/bindfs',
      exeTrusted: true,
      reasons: [],
    },
  };
  const store = await RecipeStore.open(host);
  try {
    assert.equal(store.putMany([{ recipe: base, daemonPid: 1, daemonStart: 1 }]), 1);
    const impostor: Recipe = {
      ...base,
      argv: ['sleep', '1000', MP],
      uid: 1001,
      gid: 1001,
      trust: { ...base.trust!, trusted: false, holdsConnection: false, reasons: ['no connection'] },
    };
    assert.equal(store.putMany([{ recipe: impostor, daemonPid: 2, daemonStart: 1 }]), 0);
    assert.deepEqual(store.get(MP, '/srv/data/src')?.argv, base.argv);
    assert.equal(store.get(MP, '/srv/data/src')?.uid, 0);
  } finally {
    store.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
