// Topology steps (re-binds, children set aside, dead binds detached) run through THE executor on
// the honest FakeHost: each re-verifies the mount it names and the healed mount, runs only absolute
// programs, refuses a path with a symlink in it, and is audited. Each test plays the hostile user.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { FakeHost } from '../../../src/host/fake-host.js';
import type { PlanStep } from '../../../src/mounts/diagnosis.js';
import { identityOf } from '../../../src/mounts/mountinfo/identity.js';
import type { MountInfo } from '../../../src/mounts/mountinfo/parse.js';
import { runStep, runTopologySteps, type StepContext } from '../../../src/mounts/heal/steps.js';
import { fakeHostInTempDir } from '../../helpers/fake-host.js';

const MP = '/srv/data/mnt';

function fake(): { host: FakeHost; healed: MountInfo; bind: MountInfo; ctx: StepContext; stateDir: string } {
  const { host, stateDir } = fakeHostInTempDir('enc-integrate-fake-');
  host.addDir('/srv/data/src');
  const healed = host.addMount({
    id: 90,
    mountpoint: MP,
    fstype: 'fuse',
    source: '/srv/data/src',
    major: 0,
    minor: 61,
    superOptions: ['rw', 'user_id=1001', 'group_id=1001'],
  });
  host.addDir(`${MP}/sub`, { uid: 1001, dev: 61 }); // on the healed mount 0:61
  const bind = host.addMount({ id: 56, mountpoint: '/b/sub', fstype: 'ext4', source: '/dev/sda9', major: 8, minor: 9 });
  const ctx: StepContext = { host, force: false, healId: 'topo', origin: 'heal', parents: null };
  return { host, healed, bind, ctx, stateDir };
}

const rebind: PlanStep = {
  action: 'remount',
  argv: ['/usr/bin/mount', '--bind', '--no-canonicalize', `${MP}/sub`, '/b/new'],
  risk: 'safe',
  why: 're-bind',
  phase: 'after-remount',
};

function audit(stateDir: string, host: FakeHost): Array<Record<string, unknown>> {
  const text = host.files.get(path.join(stateDir, 'heal-audit.jsonl')) ?? '';
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('a re-bind runs /usr/bin/mount exactly, once the healed mount is verified, and is audited', async () => {
  const { host, healed, ctx, stateDir } = fake();
  host.addDir('/b/new');
  const run = await runTopologySteps(ctx, [rebind], { healed: identityOf(healed) });
  assert.equal(run.ok, true, run.problem ?? '');
  assert.deepEqual(
    host.execs().filter((a) => a[0] === '/usr/bin/mount'),
    [['/usr/bin/mount', '--bind', '--no-canonicalize', `${MP}/sub`, '/b/new']],
  );
  const lines = audit(stateDir, host).filter((l) => l.kind === 'step');
  assert.deepEqual(
    lines.map((l) => [l.action, l.ok, l.argv]),
    [['remount', true, ['/usr/bin/mount', '--bind', '--no-canonicalize', `${MP}/sub`, '/b/new']]],
  );
});

test('the owner swaps the bind source for a symlink to /root: nothing is bound', async () => {
  const { host, healed, ctx, stateDir } = fake();
  host.addDir('/b/new');
  host.inodes.set(`${MP}/sub`, { dev: 61, ino: 999, uid: 1001, gid: 1001, type: 'symlink' });
  const run = await runTopologySteps(ctx, [rebind], { healed: identityOf(healed) });
  assert.equal(run.ok, false);
  assert.match(run.results[0]!.refused ?? '', new RegExp(`${MP}/sub is a symbolic link`));
  assert.deepEqual(
    host.execs().filter((a) => a[0] === '/usr/bin/mount'),
    [],
  );
  assert.equal(audit(stateDir, host).filter((l) => l.kind === 'step' && l.refused !== undefined).length, 1);
});

test('a topology step naming a bare program is refused (never looked up through a PATH)', async () => {
  const { host, healed, ctx } = fake();
  host.addDir('/b/new');
  const bare: PlanStep = { ...rebind, argv: ['mount', '--bind', '--no-canonicalize', `${MP}/sub`, '/b/new'] };
  const run = await runTopologySteps(ctx, [bare], { healed: identityOf(healed) });
  assert.equal(run.ok, false);
  assert.match(run.results[0]!.refused ?? '', /mount is not an absolute path/);
  assert.deepEqual(
    host.execs().filter((a) => /mount$/.test(a[0] ?? '')),
    [],
  );
});

test('a topology step whose mount was replaced at its path does not run', async () => {
  const { host, bind, ctx } = fake();
  const detach: PlanStep = {
    action: 'unmount-lazy',
    argv: ['/usr/bin/umount', '--no-canonicalize', '-l', '--', '/b/sub'],
    risk: 'safe',
    why: 'detach the dead bind',
    mount: { ...identityOf(bind) },
    phase: 'after-remount',
  };
  // Someone mounts something else on /b/sub between planning and the step.
  const other = host.addMount({ id: 57, mountpoint: '/b/sub', fstype: 'tmpfs', source: 'tmpfs', major: 0, minor: 70 });
  const run = await runTopologySteps(ctx, [detach]);
  assert.equal(run.ok, false);
  assert.match(run.results[0]!.refused ?? '', /\/b\/sub now names/);
  assert.deepEqual(
    host.mounts.filter((m) => m.mountpoint === '/b/sub').map((m) => m.id),
    [bind.id, other.id],
  );
});

test('after the remount, a step does not run once the healed mount is no longer on top of its path', async () => {
  const { host, healed, ctx } = fake();
  host.addDir('/b/new');
  host.addMount({ id: 91, mountpoint: MP, fstype: 'tmpfs', source: 'tmpfs', parentId: healed.id, minor: 71 });
  const run = await runTopologySteps(ctx, [rebind], { healed: identityOf(healed) });
  assert.equal(run.ok, false);
  assert.match(run.results[0]!.refused ?? '', new RegExp(`${MP} now names`));
  assert.deepEqual(
    host.execs().filter((a) => a[0] === '/usr/bin/mount'),
    [],
  );
});

test('a lazy unmount of the target never takes a healthy child along, unless the plan remounts it', async () => {
  const { host, healed, ctx } = fake();
  const child = host.addMount({
    id: 95,
    parentId: healed.id,
    mountpoint: `${MP}/inner`,
    fstype: 'ext4',
    source: '/dev/sdb1',
    major: 8,
    minor: 17,
  });
  const lazy: PlanStep = {
    action: 'unmount-lazy',
    argv: ['/usr/bin/umount', '--no-canonicalize', '-l', '--', MP],
    target: { mountId: healed.id, device: '0:61', mountpoint: MP },
    risk: 'safe',
    why: 'lazy',
  };
  const r = await runStep(ctx, lazy, 0);
  assert.match(r.refused ?? '', /1 mount\(s\) are attached under \/srv\/data\/mnt \(\/srv\/data\/mnt\/inner\)/);
  assert.deepEqual(
    host.execs().filter((a) => a[0] === '/usr/bin/umount'),
    [],
  );
  const allowed = await runStep({ ...ctx, allowChildren: new Set([child.id]) }, lazy, 0);
  assert.equal(allowed.ok, true, allowed.output);
  assert.equal(
    host.mounts.some((m) => m.id === healed.id),
    false,
  );
});
