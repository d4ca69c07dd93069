import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import { NodeHost } from '../../../src/host/node-host.js';
import type { DaemonInfo } from '../../../src/mounts/diagnosis.js';
import type { HealReport } from '../../../src/mounts/heal/apply.js';
import { acquireHealLock } from '../../../src/mounts/heal/lock.js';
import { buildPlan, runAsArgv, STEP_TIMEOUTS, type PlanInput } from '../../../src/mounts/heal/plan.js';
import type { Recipe } from '../../../src/mounts/heal/recipe.js';
import { RecipeStore } from '../../../src/mounts/heal/recipe-store.js';
import { detachArgv, filterEnv, reconstructRecipe, systemdEscapePath } from '../../../src/mounts/heal/recipes.js';
import { protectedPathRefusal, stateRefusal } from '../../../src/mounts/heal/safety.js';
import { parseMountinfoLine, type MountInfo } from '../../../src/mounts/mountinfo/parse.js';
import type { MountReport } from '../../../src/mounts/scan.js';
import { REPO, runCli } from '../../helpers/live.js';

const FIXTURE = path.join(REPO, 'test/fixtures/proc/heal-nfs-cifs');

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'enc-heal-unit-'));
}

function mount(line: string): MountInfo {
  const m = parseMountinfoLine(line);
  assert.ok(m);
  return m;
}

const SSHFS = mount(
  '50 22 0:60 / /mnt/remote rw,nosuid,nodev,relatime - fuse.sshfs alice@host:/data rw,user_id=1000,group_id=1000',
);

function input(over: Partial<PlanInput>): PlanInput {
  return {
    mount: SSHFS,
    report: { id: 50, mountpoint: '/mnt/remote' } as MountReport,
    state: 'dead',
    causes: [],
    daemon: null,
    holders: [],
    recipe: null,
    fuseConnection: 60,
    ...over,
  };
}

const RECIPE: Recipe = {
  mountpoint: '/mnt/remote',
  source: 'alice@host:/data',
  fstype: 'fuse.sshfs',
  backend: 'sshfs',
  argv: ['sshfs', '-f', 'alice@host:/data', '/mnt/remote', '-p', '2222', '-o', 'IdentityFile=/home/alice/.ssh/id'],
  uid: 1000,
  gid: 1000,
  cwd: '/home/alice',
  env: { HOME: '/home/alice', SSH_AUTH_SOCK: '/run/user/1000/ssh.sock' },
  origin: 'recorded',
  recordedAt: '2026-11-21T08:00:00.000Z',
  missing: [],
  user: 'alice',
};

test('a dead FUSE mount: umount --no-canonicalize, then -l, then the recorded argv detached, run as its owner by setpriv with a clean environment', () => {
  const plan = buildPlan(
    input({ recipe: RECIPE, daemonProgram: '/usr/bin/sshfs', ownerHome: '/home/alice', cwd: '/home/alice' }),
    {
      force: false,
      selfUid: 0,
    },
  );
  assert.deepEqual(
    plan.map((s) => [s.action, s.argv, s.timeoutMs]),
    [
      ['unmount', ['/usr/bin/umount', '--no-canonicalize', '--', '/mnt/remote'], STEP_TIMEOUTS.fusermount],
      ['unmount-lazy', ['/usr/bin/umount', '--no-canonicalize', '-l', '--', '/mnt/remote'], STEP_TIMEOUTS.fusermount],
      [
        'remount',
        [
          '/usr/bin/setpriv',
          '--reuid=1000',
          '--regid=1000',
          '--init-groups',
          '--reset-env',
          '--',
          '/usr/bin/env',
          '-i',
          '-C',
          '/home/alice',
          'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
          'LANG=C',
          'HOME=/home/alice',
          'USER=alice',
          'LOGNAME=alice',
          'SSH_AUTH_SOCK=/run/user/1000/ssh.sock',
          '/usr/bin/sshfs',
          'alice@host:/data',
          '/mnt/remote',
          '-p',
          '2222',
          '-o',
          'IdentityFile=/home/alice/.ssh/id',
          '-o',
          'nosuid,nodev',
        ],
        STEP_TIMEOUTS.remount,
      ],
    ],
  );
  assert.equal(plan[2]!.runAs, 1000);
  assert.deepEqual(plan[0]!.target, { mountId: 50, device: '0:60', mountpoint: '/mnt/remote' });
});

test('a recipe never supplies PATH, LD_* or the program: a home-directory binary means nothing is unmounted', () => {
  const evil: Recipe = {
    ...RECIPE,
    argv: ['/home/alice/bin/sshfs', 'alice@host:/data', '/mnt/remote'],
    env: { PATH: '/home/alice/bin:/usr/bin', LD_PRELOAD: '/home/alice/x.so', SSH_AUTH_SOCK: '/s' },
  };
  const plan = buildPlan(input({ recipe: evil, daemonProgram: null }), { force: true, selfUid: 0 });
  assert.deepEqual(
    plan.map((s) => s.action),
    ['none'],
  );
  assert.match(plan[0]!.why, /not a root-owned binary/);
  const ok = buildPlan(input({ recipe: evil, daemonProgram: '/usr/bin/sshfs' }), { force: true, selfUid: 0 });
  const argv = ok.at(-1)!.argv!;
  assert.equal(argv[0], '/usr/bin/setpriv');
  assert.equal(argv.filter((a) => a.startsWith('PATH=')).length, 1);
  assert.ok(argv.includes('PATH=/usr/sbin:/usr/bin:/sbin:/bin'));
  assert.equal(
    argv.some((a) => a.startsWith('LD_') || a.includes('/home/alice/bin')),
    false,
  );
  assert.ok(argv.includes('/usr/bin/sshfs'));
});

test('heal running as the owner runs the remount without setpriv', () => {
  assert.deepEqual(runAsArgv(['bindfs', '/a', '/b'], { uid: 1000, gid: 1000 }, 1000), ['bindfs', '/a', '/b']);
  assert.deepEqual(runAsArgv(['x'], { uid: 7, gid: 8 }, 0), [
    '/usr/bin/setpriv',
    '--reuid=7',
    '--regid=8',
    '--clear-groups',
    '--reset-env',
    '--',
    'x',
  ]);
});

test('a hung FUSE mount with a stopped daemon: abort the connection N = minor, SIGTERM+SIGCONT then SIGKILL, only with --force', () => {
  const daemon: DaemonInfo = {
    pid: 4242,
    argv: RECIPE.argv,
    uid: 1000,
    gid: 1000,
    comm: 'sshfs',
    state: 'T',
    startedAt: null,
    source: 'proc',
  };
  const plan = buildPlan(input({ state: 'hung', daemon, recipe: RECIPE }), { force: true, selfUid: 0 });
  assert.equal(plan[0]!.action, 'abort-connection');
  assert.deepEqual(plan[0]!.write, { path: '/sys/fs/fuse/connections/60/abort', data: '1' });
  assert.deepEqual(plan[0]!.signal, { pid: 4242, signals: ['SIGTERM', 'SIGCONT', 'SIGKILL'], graceMs: 2000 });
  assert.equal(plan[0]!.requiresForce, true);
  assert.deepEqual(
    plan.slice(1).map((s) => s.action),
    ['unmount', 'unmount-lazy', 'remount'],
  );
  const refusal = stateRefusal('hung', daemon, false, 'fuse');
  assert.equal(refusal?.rule, 'hung-needs-force');
  assert.match(refusal?.message ?? '', /daemon \(pid 4242\) is stopped \(state T\)/);
});

test('without a recipe nothing is unmounted (an empty directory would take the writes)', () => {
  const plan = buildPlan(input({ recipe: null }), { force: false });
  assert.deepEqual(
    plan.map((s) => s.action),
    ['none'],
  );
  assert.equal(
    plan.some((s) => s.argv),
    false,
  );
});

test('holders are reported first and never signalled', () => {
  const plan = buildPlan(
    input({
      recipe: RECIPE,
      holders: [{ pid: 77, comm: 'bash', uid: 1000, user: 'alice', how: ['cwd'], paths: ['/mnt/remote'] }],
    }),
    { force: false, selfUid: 0 },
  );
  assert.equal(plan[0]!.action, 'report-holders');
  assert.match(plan[0]!.why, /77 bash \(cwd\)/);
  assert.equal(
    plan.some((s) => s.signal?.pid === 77),
    false,
  );
});

test('safety: /, /proc, /sys, /dev and /run are refused; a healthy mount and a live answering daemon need --force', () => {
  for (const p of ['/', '/proc', '/sys', '/dev', '/run', '/proc/'])
    assert.equal(protectedPathRefusal(p, null)?.rule, 'protected-path', p);
  assert.equal(protectedPathRefusal('/mnt/remote', SSHFS), null);
  assert.equal(stateRefusal('healthy', null, false, 'fuse')?.rule, 'healthy');
  assert.equal(stateRefusal('healthy', null, true, 'fuse'), null);
  const alive: DaemonInfo = {
    pid: 9,
    argv: null,
    uid: 0,
    gid: 0,
    comm: 'x',
    state: 'S',
    startedAt: null,
    source: 'proc',
  };
  assert.equal(stateRefusal('io-error', alive, false, 'fuse')?.rule, 'daemon-alive');
  assert.equal(stateRefusal('dead', null, false, 'fuse'), null);
  assert.equal(stateRefusal('hung', null, false, 'network')?.rule, 'hung-needs-force');
});

test('a foreground argv is detached: -f and -d dropped for libfuse daemons, --daemon added for rclone', () => {
  assert.deepEqual(detachArgv(['sshfs', '-f', 'h:/d', '/m', '-o', 'x']), ['sshfs', 'h:/d', '/m', '-o', 'x']);
  assert.deepEqual(detachArgv(['bindfs', '-f', '-d', '/a', '/b']), ['bindfs', '/a', '/b']);
  assert.deepEqual(detachArgv(['rclone', 'mount', 'r:', '/m']), ['rclone', 'mount', 'r:', '/m', '--daemon']);
  assert.deepEqual(detachArgv(['rclone', 'mount', 'r:', '/m', '--daemon']), [
    'rclone',
    'mount',
    'r:',
    '/m',
    '--daemon',
  ]);
  assert.deepEqual(detachArgv(['mount', '/m']), ['mount', '/m']);
});

test('only the needed environment is kept (no secrets such as RCLONE_CONFIG_PASS)', () => {
  assert.deepEqual(
    filterEnv({ HOME: '/h', RCLONE_CONFIG_PASS: 's3cret', SSH_AUTH_SOCK: '/s', AWS_SECRET_ACCESS_KEY: 'k' }),
    {
      HOME: '/h',
      SSH_AUTH_SOCK: '/s',
    },
  );
});

test('systemd unit names escape like systemd-escape --path', () => {
  assert.equal(systemdEscapePath('/mnt/my data'), 'mnt-my\\x20data');
  assert.equal(systemdEscapePath('/srv/a-b/'), 'srv-a\\x2db');
  assert.equal(systemdEscapePath('/'), '-');
});

test('reconstructed recipes name what mountinfo cannot show', async () => {
  const host = new FixtureHost(FIXTURE, { stateDir: scratch(), runDir: scratch() });
  const r = await reconstructRecipe(host, SSHFS);
  assert.equal(r?.origin, 'reconstructed');
  assert.deepEqual(r?.argv, [
    'sshfs',
    'alice@host:/data',
    '/mnt/remote',
    '-o',
    // The mount's nosuid and nodev are kept (ro and noexec would be too).
    'nosuid,nodev,reconnect,ServerAliveInterval=15,ServerAliveCountMax=3,BatchMode=yes',
  ]);
  assert.equal(r?.uid, 1000);
  assert.ok(r?.missing.some((m) => m.startsWith('IdentityFile')));
  const rc = await reconstructRecipe(
    host,
    mount('51 22 0:61 / /mnt/rc rw - fuse.rclone s3:bucket rw,user_id=0,group_id=0,allow_other'),
  );
  assert.deepEqual(rc?.argv, ['rclone', 'mount', 's3:bucket', '/mnt/rc', '--allow-other', '--daemon']);
  const cifs = await reconstructRecipe(
    host,
    mount('52 22 0:62 / /mnt/s rw - cifs //srv/x rw,vers=3.1.1,username=svc,uid=0,gid=0,addr=1.2.3.4'),
  );
  assert.deepEqual(cifs?.argv, [
    'mount',
    '-t',
    'cifs',
    '-o',
    'rw,vers=3.1.1,username=svc,uid=0,gid=0',
    '//srv/x',
    '/mnt/s',
  ]);
  assert.ok(cifs?.missing.some((m) => m.startsWith('credentials')));
});

test('the recipe store keeps argv, owner, env and a sample in one SQLite file in WAL mode', async () => {
  const dir = scratch();
  const host = new NodeHost({ stateDir: dir, runDir: scratch() });
  const store = await RecipeStore.open(host);
  store.putMany([{ recipe: RECIPE, daemonPid: 123, daemonStart: 456 }]);
  store.putSample(RECIPE.mountpoint, RECIPE.source, { path: 'a.txt', sha256: 'ab'.repeat(32), recordedAt: 'now' });
  const got = store.get(RECIPE.mountpoint, RECIPE.source);
  store.close();
  assert.deepEqual(got?.argv, RECIPE.argv);
  assert.equal(got?.uid, 1000);
  assert.deepEqual(got?.env, RECIPE.env);
  assert.equal(got?.pid, 123);
  assert.equal(got?.sample?.path, 'a.txt');
  assert.ok(fs.existsSync(path.join(dir, 'enotconn.db-wal')) || fs.existsSync(path.join(dir, 'enotconn.db')));
});

test('the heal lock refuses while its owner lives and is taken over when the owner is gone', async () => {
  const host = new NodeHost({ stateDir: scratch(), runDir: scratch() });
  const a = await acquireHealLock(host, '/mnt/x');
  assert.ok(a.ok);
  const b = await acquireHealLock(host, '/mnt/x');
  assert.equal(b.ok, false);
  if (!b.ok) assert.equal(b.owner.pid, process.pid);
  fs.writeFileSync(a.file, JSON.stringify({ pid: 999999, start: 1, mountpoint: '/mnt/x', since: '', command: 'x' }));
  const c = await acquireHealLock(host, '/mnt/x');
  assert.ok(c.ok);
  assert.equal(c.ok && c.tookOverStale?.pid, 999999);
  if (c.ok) await c.release();
  assert.equal(fs.existsSync(a.file), false);
});

async function fixtureDryRun(p: string, extra: string[] = []): Promise<{ code: number | null; r: HealReport }> {
  const res = await runCli(
    ['--proc-root', FIXTURE, '--state-dir', scratch(), 'heal', p, '--dry-run', '--json', ...extra],
    {
      env: { ENOTCONN_RUN_DIR: scratch() },
    },
  );
  assert.equal(res.stderr, '');
  return { code: res.code, r: JSON.parse(res.stdout) as HealReport };
}

test('(fixture) a stale NFS mount: umount, umount -f, umount -l with their timeouts, then mount -t nfs', async () => {
  const { code, r } = await fixtureDryRun('/mnt/nfs stale');
  assert.equal(code, 0);
  assert.equal(r.result, 'dry-run');
  assert.deepEqual(
    r.plan?.map((s) => [s.action, s.argv?.filter((a) => !/^(PATH|LANG|HOME|USER|LOGNAME)=/.test(a)), s.timeoutMs]),
    [
      ['unmount', ['/usr/bin/umount', '--no-canonicalize', '--', '/mnt/nfs stale'], 10_000],
      ['unmount-force', ['/usr/bin/umount', '--no-canonicalize', '-f', '--', '/mnt/nfs stale'], 10_000],
      ['unmount-lazy', ['/usr/bin/umount', '--no-canonicalize', '-l', '--', '/mnt/nfs stale'], 5_000],
      [
        'remount',
        [
          '/usr/bin/env',
          '-i',
          '/usr/bin/mount',
          '-t',
          'nfs',
          '-o',
          'rw,vers=3,rsize=65536,wsize=65536,soft,proto=tcp,timeo=100,retrans=3,sec=sys',
          'nas:/vol/data',
          '/mnt/nfs stale',
        ],
        30_000,
      ],
    ],
  );
});

test('(fixture) a hung NFS mount is refused without --force; with it the forced and lazy unmounts are flagged', async () => {
  const refused = await fixtureDryRun('/mnt/nfs-hung');
  assert.equal(refused.code, 1);
  assert.equal(refused.r.refusal, 'hung-needs-force');
  const forced = await fixtureDryRun('/mnt/nfs-hung', ['--force']);
  assert.equal(forced.code, 0);
  assert.deepEqual(
    forced.r.plan?.map((s) => [s.argv?.slice(0, 3), s.timeoutMs, s.requiresForce ?? false]),
    [
      [['/usr/bin/umount', '--no-canonicalize', '--'], 10_000, false],
      [['/usr/bin/umount', '--no-canonicalize', '-f'], 10_000, true],
      [['/usr/bin/umount', '--no-canonicalize', '-l'], 5_000, true],
      [['/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'], 30_000, false],
    ],
  );
});

test('(fixture) a dead CIFS share whose rebuilt recipe has no credentials is never unmounted', async () => {
  const { code, r } = await fixtureDryRun('/mnt/share');
  assert.equal(code, 1);
  assert.equal(r.refusal, 'cannot-remount');
  assert.deepEqual(
    r.plan?.map((s) => [s.action, s.argv]),
    [['none', undefined]],
  );
  assert.match(r.reason, /no credentials/);
  assert.ok(r.recipe?.missing.some((m) => m.startsWith('credentials')));
});
