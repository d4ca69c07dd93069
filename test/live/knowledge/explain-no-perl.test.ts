import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, REPO, requireBinary, runCli, tempDir } from '../../helpers/live.js';

// explain used to read errno names and strerror texts from perl or python at run time; on an image
// without them "Transport endpoint is not connected" was "not recognised". These tests hide perl and
// python for real (a private mount namespace with an empty file bound over each interpreter) and
// check the answers do not change, and that explain starts no program at all.

const LINES = [
  'Transport endpoint is not connected',
  "ls: cannot access '/mnt/remote': Transport endpoint is not connected",
  'ConnectionResetError: [Errno 54] Connection reset by peer',
  '[WinError 10054] An existing connection was forcibly closed by the remote host',
  "ls: 无法访问 '/mnt/x': 传输端点尚未连接",
  'Error: getaddrinfo ENOTFOUND db.example.invalid',
  'EHOSTDOWN',
  '112',
  'Add ECONNRESET to the list of retryable errors',
];

const LOG = [
  'INFO ok',
  '2024-01-01T00:00:00Z cat: /mnt/remote/a: Transport endpoint is not connected',
  '2024-01-01T00:00:01Z Error: read ECONNRESET',
  '2024-01-01T00:00:02Z socket.gaierror: [Errno -3] Temporary failure in name resolution',
  '2024-01-01T00:00:03Z [WinError 10061] No connection could be made because the target machine actively refused it',
].join('\n');

// Every perl and python this machine could run, by absolute path (PATH entries and their targets).
function interpreters(): string[] {
  const out = new Set<string>();
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (!dir.startsWith('/')) continue;
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (!/^(?:perl|perl5[\d.]*|python[\d.]*)$/.test(n)) continue;
      const p = path.join(dir, n);
      try {
        if (fs.statSync(p).isFile()) out.add(fs.realpathSync(p));
        out.add(p);
      } catch {
        // a dangling link: nothing to hide
      }
    }
  }
  return [...out].sort();
}

// Run the CLI in a private mount namespace where every interpreter is an empty, non-executable file.
function runHidden(dir: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const empty = path.join(dir, 'empty');
  fs.writeFileSync(empty, '', { mode: 0o644 });
  const hide = interpreters();
  // $1 = the empty file, $2 = how many paths follow, then the paths, then node, the CLI and its args.
  const script = [
    'set -e',
    'e="$1"; n="$2"; shift 2',
    'i=0; while [ "$i" -lt "$n" ]; do mount --bind "$e" "$1"; shift; i=$((i+1)); done',
    // Prove it: none of them runs any more.
    'for p in /usr/bin/perl /usr/bin/python3; do if [ -e "$p" ] && "$p" -e 1 >/dev/null 2>&1; then echo "$p still runs" >&2; exit 97; fi; done',
    'exec "$@"',
  ].join('\n');
  const r = spawnSync(
    '/usr/bin/unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      script,
      'sh',
      empty,
      String(hide.length),
      ...hide,
      process.execPath,
      CLI,
      ...args,
    ],
    { encoding: 'utf8', timeout: 60000, env: { ...process.env, NO_COLOR: '1' } },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const stable = (json: string): unknown => {
  const j = JSON.parse(json) as Record<string, unknown>;
  delete j.durationMs;
  return j;
};

test('with perl and python hidden, explain and explain --log give the same answers as here', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('SKIPPED: needs root for a private mount namespace');
  if (!requireBinary(t, 'unshare', 'mount')) return;
  assert.ok(interpreters().length > 0, 'this machine has perl or python to hide');
  const dir = tempDir(t, 'enc-explain-noperl-');
  for (const line of LINES) {
    const normal = await runCli(['explain', '--offline', '--json', line]);
    const hidden = runHidden(dir, ['explain', '--offline', '--json', line]);
    assert.equal(hidden.code, normal.code, `${line}: ${hidden.stderr}`);
    assert.deepEqual(stable(hidden.stdout), stable(normal.stdout), line);
  }
  const log = path.join(dir, 'app.log');
  fs.writeFileSync(log, `${LOG}\n`);
  const normal = await runCli(['explain', '--log', log, '--json']);
  const hidden = runHidden(dir, ['explain', '--log', log, '--json']);
  assert.equal(hidden.code, 1, hidden.stderr);
  assert.equal(normal.code, 1);
  assert.deepEqual(stable(hidden.stdout), stable(normal.stdout));
  assert.equal((stable(hidden.stdout) as { matchedLines: number }).matchedLines, 4);
  // The answer that used to fail without perl.
  const bare = runHidden(dir, ['explain', '--offline', '--json', 'Transport endpoint is not connected']);
  assert.equal((JSON.parse(bare.stdout) as { errno: string }).errno, 'ENOTCONN');
});

test('explain starts no program: strace sees one execve, the CLI itself', (t) => {
  if (!requireBinary(t, 'strace')) return;
  const dir = tempDir(t, 'enc-explain-strace-');
  const trace = path.join(dir, 'trace');
  const log = path.join(dir, 'app.log');
  fs.writeFileSync(log, `${LOG}\n`);
  for (const args of [
    ['explain', '--json', 'cat: /etc/hostname: Transport endpoint is not connected'],
    ['explain', '--offline', '--json', 'ConnectionResetError: [Errno 54] Connection reset by peer'],
    ['explain', '--log', log, '--json'],
  ]) {
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=execve', '-o', trace, process.execPath, CLI, ...args], {
      encoding: 'utf8',
      timeout: 60000,
      cwd: REPO,
    });
    assert.ok(r.status === 0 || r.status === 1, `${args.join(' ')}: ${r.stderr}`);
    const execs = fs
      .readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => /execve\(/.test(l) && !/resumed/.test(l));
    assert.equal(execs.length, 1, execs.join('\n'));
    assert.match(execs[0]!, new RegExp(`execve\\("${process.execPath.replace(/[/.]/g, '\\$&')}"`));
  }
});
