// The single executable on a host with no Node and no node_modules: in a private mount namespace
// an empty file is bind-mounted over /usr/bin/node and a tmpfs over node_modules, and dist/enotconn
// (copied out of the repository) runs scan, diagnose, heal, explain, lint, runbook, lab and watch,
// with SQLite from its embedded addon and the probe and lab children re-executed from itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import type { Diagnosis } from '../../../src/mounts/diagnosis.js';
import type { ScanReport } from '../../../src/mounts/scan.js';
import { REPO, freePort, killHard, liveBindfs, requireBinary, tempDir, waitFor } from '../../helpers/live.js';
import { runArgv, type RunResult } from '../../helpers/run-argv.js';
import { ensureSea } from '../../helpers/ship-build.js';

const UNSHARE = '/usr/bin/unshare';
const PKG = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
let built = '';

before(() => {
  built = ensureSea();
});

interface NoNode {
  exe: string;
  env: NodeJS.ProcessEnv;
  stateDir: string;
  argv: (args: string[]) => string[];
}

// A copy of the executable, private state and run dirs, and the argv prefix that runs a command in
// a mount namespace where node and node_modules are gone.
function noNodeHost(t: TestContext): NoNode {
  const dir = tempDir(t, 'enc-ship-sea-');
  const exe = path.join(dir, 'bin', 'enotconn');
  fs.mkdirSync(path.dirname(exe));
  fs.copyFileSync(built, exe);
  fs.chmodSync(exe, 0o755);
  const empty = path.join(dir, 'empty');
  fs.writeFileSync(empty, '');
  const stateDir = path.join(dir, 'state');
  const hide = [
    `/usr/bin/mount --bind ${empty} /usr/bin/node`,
    `/usr/bin/mount -t tmpfs tmpfs ${path.join(REPO, 'node_modules')}`,
    'exec "$@"',
  ].join(' && ');
  return {
    exe,
    stateDir,
    env: {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      NO_COLOR: '1',
      ENOTCONN_STATE_DIR: stateDir,
      ENOTCONN_RUN_DIR: path.join(dir, 'run'),
      HOME: dir,
    },
    argv: (args) => [UNSHARE, '-m', '--propagation', 'private', '/bin/sh', '-c', hide, 'sh', ...args],
  };
}

async function inNoNode(h: NoNode, args: string[], opts: { cwd?: string } = {}): Promise<RunResult> {
  return runArgv(h.argv(args), { env: h.env, timeoutMs: 120_000, ...opts });
}

test('single executable: no node, no node_modules; scan, diagnose, heal, explain, lint, runbook, lab', async (t) => {
  if (!requireBinary(t, 'bindfs', 'unshare')) return;
  const h = noNodeHost(t);
  // The namespace really has no Node: the empty file cannot be executed, node_modules is empty.
  const probe = await inNoNode(h, [
    '/bin/sh',
    '-c',
    `/usr/bin/node -e 0; echo "node=$?"; ls -A ${REPO}/node_modules | wc -l`,
  ]);
  assert.equal(probe.stdout, 'node=126\n0\n');

  assert.equal((await inNoNode(h, [h.exe, '--version'])).stdout, `${PKG.version}\n`);

  // scan probes through the probe child (the same executable in its child role) and records the
  // live daemon's recipe in SQLite, loaded from the embedded addon.
  const dir = tempDir(t, 'enc-ship-sea-mnt-');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'hello'), 'hi\n');
  const m = await liveBindfs(t, path.join(dir, 'src'), path.join(dir, 'mnt'));
  const scan = await inNoNode(h, [h.exe, 'scan', '--json', m.mountpoint]);
  assert.equal(scan.stderr, '');
  assert.equal(scan.code, 0);
  const report = JSON.parse(scan.stdout) as ScanReport;
  assert.deepEqual(
    report.mounts.map((x) => [x.mountpoint, x.backend, x.state]),
    [[m.mountpoint, 'bindfs', 'healthy']],
  );
  const db = new Database(path.join(h.stateDir, 'enotconn.db'), { readonly: true });
  const recipes = db.prepare('SELECT mountpoint FROM recipes').all() as Array<{ mountpoint: string }>;
  db.close();
  assert.deepEqual(
    recipes.map((r) => r.mountpoint),
    [m.mountpoint],
  );
  // Nothing of the addon is left behind in the temp directory.
  assert.deepEqual(
    fs.readdirSync('/tmp').filter((f) => f.startsWith('enotconn-native-')),
    [],
  );

  // The daemon dies: diagnose names the cause, heal --dry-run has a plan from the recorded recipe.
  killHard(m.daemonPid);
  await waitFor(
    () => {
      try {
        fs.statfsSync(m.mountpoint);
        return false;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ENOTCONN';
      }
    },
    10_000,
    'the mount to go dead',
  );
  const diag = await inNoNode(h, [h.exe, 'diagnose', '--json', m.mountpoint]);
  assert.equal(diag.stderr, '');
  assert.equal(diag.code, 1);
  const d = JSON.parse(diag.stdout) as Diagnosis;
  assert.equal(d.state, 'dead');
  assert.equal(d.causes[0]?.id, 'daemon-gone');
  const heal = await inNoNode(h, [h.exe, 'heal', '--dry-run', '--json', m.mountpoint]);
  assert.equal(heal.code, 0, heal.stdout + heal.stderr);
  const plan = JSON.parse(heal.stdout) as { result: string; steps: unknown[]; plan: Array<{ action: string }> };
  assert.equal(plan.result, 'dry-run');
  assert.deepEqual(plan.steps, [], 'a dry run runs nothing');
  assert.equal(plan.plan.at(-1)?.action, 'remount', JSON.stringify(plan.plan));

  const explain = await inNoNode(h, [h.exe, 'explain', '--json', '--offline', 'ENOTCONN']);
  assert.equal(explain.code, 0);
  assert.deepEqual(
    (({ errno, number }) => ({ errno, number }))(JSON.parse(explain.stdout) as { errno: string; number: number }),
    { errno: 'ENOTCONN', number: 107 },
  );

  const fstab = path.join(dir, 'fstab');
  fs.writeFileSync(fstab, 'user@host:/data /mnt/data fuse.sshfs defaults 0 0\n');
  const lint = await inNoNode(h, [h.exe, 'lint', '--json', '--fstab', fstab]);
  assert.equal(lint.code, 1, lint.stderr);
  assert.match(lint.stdout, /sshfs-reconnect/);

  const runbook = await inNoNode(h, [h.exe, 'runbook', 'ENOTCONN']);
  assert.equal(runbook.code, 0, runbook.stderr);
  assert.match(runbook.stdout, /^# /m);

  // The lab child is the executable too.
  const lab = await inNoNode(h, [h.exe, 'lab', '--json', 'connect-refused']);
  assert.equal(lab.code, 0, lab.stdout + lab.stderr);
  assert.match(lab.stdout, /"connect-refused"/);
});

test('single executable: watch runs with no node (SQLite store, HTTP) and stops on SIGTERM', async (t) => {
  if (!requireBinary(t, 'unshare')) return;
  const h = noNodeHost(t);
  const help = await inNoNode(h, [h.exe, 'watch', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--check-config/);
  const cfg = path.join(h.stateDir, '..', 'config.yaml');
  fs.writeFileSync(cfg, 'interval: 5s\n');
  const check = await inNoNode(h, [h.exe, 'watch', '--check-config', cfg]);
  assert.equal(check.code, 0, check.stderr);
  fs.writeFileSync(cfg, 'interval: 5\n');
  const bad = await inNoNode(h, [h.exe, 'watch', '--check-config', cfg]);
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /config\.yaml:1/);
  const port = await freePort();
  const w = spawn(
    h.argv([h.exe, 'watch', '--listen', `127.0.0.1:${port}`])[0]!,
    h.argv([h.exe, 'watch', '--listen', `127.0.0.1:${port}`]).slice(1),
    {
      env: h.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  w.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  t.after(() => {
    if (w.exitCode === null && w.pid !== undefined) killHard(w.pid);
  });
  await waitFor(
    async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    20_000,
    `watch to answer /healthz (stderr: ${stderr})`,
  );
  const api = (await (await fetch(`http://127.0.0.1:${port}/api/mounts`)).json()) as unknown;
  assert.ok(Array.isArray(api) || typeof api === 'object');
  assert.ok(fs.existsSync(path.join(h.stateDir, 'enotconn.db')), 'watch opened its SQLite store');
  const exited = new Promise<number | null>((resolve) => w.on('exit', (code) => resolve(code)));
  w.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
});
