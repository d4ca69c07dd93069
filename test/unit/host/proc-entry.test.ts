// A process's /proc files read in one request by the native helper (L and T) are exactly what
// reading them one file at a time gives, for a real child process with a known argv, cwd and fds.
// The table request lists every process once, ascending, and malformed requests are refused.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { FakeHost } from '../../../src/host/fake-host.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { procEntryByParts, procEntryFromFields, type ProcField } from '../../../src/host/proc-entry.js';
import { helperPath, spawnEngine } from '../../../src/host/probe-engine.js';
import { REPO } from '../../helpers/live.js';

const ALL: ProcField[] = ['argv', 'stat', 'mntns', 'cwd', 'root', 'exe', 'fds', 'fuse', 'maps'];

function needHelper(t: TestContext): boolean {
  if (helperPath(path.join(REPO, 'dist/src/host')) !== null) return true;
  t.skip('SKIPPED: the native helper was not built (no C compiler)');
  return false;
}

// Every reply line of a fresh helper given these request lines, once it has answered them all and
// exited (its stdin closed).
async function helperReplies(helper: string, requests: readonly string[]): Promise<string[]> {
  const child = spawnEngine(
    'native',
    helper,
    path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'enc-perf-reg-')), 'p'),
    2,
  );
  return new Promise<string[]>((resolve) => {
    let text = '';
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (s: string) => (text += s));
    child.on('exit', () => resolve(text.split('\n').filter((l) => l !== '')));
    child.stdin!.end(`${requests.join('\n')}\n`);
  });
}

// A sleeping child in its own temporary cwd, stdio on /dev/null: fds 0, 1 and 2 only.
async function sleeper(t: TestContext): Promise<{ child: ChildProcess; cwd: string }> {
  const cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'enc-perf-cwd-')));
  const child = spawn('sleep', ['300'], { cwd, stdio: 'ignore' });
  t.after(() => {
    child.kill('SIGKILL');
    fs.rmSync(cwd, { recursive: true, force: true });
  });
  // Until it has exec'd sleep (its cmdline is no longer node's).
  for (let i = 0; i < 500; i++) {
    const argv = fs.readFileSync(`/proc/${child.pid}/cmdline`, 'latin1');
    if (argv.startsWith('sleep\0')) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return { child, cwd };
}

test('native helper: one request reads what a readlink, readdir and read per file read', async (t) => {
  if (!needHelper(t)) return;
  const { child, cwd } = await sleeper(t);
  const pid = child.pid!;
  const host = new NodeHost({ runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'enc-perf-run-')) });
  t.after(() => host.close());
  const byParts = new NodeHost({ root: '/' }); // a /proc root that is not '' never uses the helper
  const opts = { mapsPrefix: '/usr/' };
  const one = await host.readProcess(pid, ALL, opts);
  const parts = await procEntryByParts(byParts, pid, ALL, opts);
  assert.deepEqual(one.argv, ['sleep', '300']);
  assert.equal(one.cwd, cwd);
  assert.equal(one.root, '/');
  assert.equal(one.exe, fs.realpathSync(one.exe!));
  // Its stdio is /dev/null; it may inherit more (the test runner's own pipes).
  assert.deepEqual(
    one.fds!.slice(0, 3),
    ['0', '1', '2'].map((fd) => ({ fd, target: '/dev/null' })),
  );
  assert.deepEqual(one.fuse, { connections: [], unattached: 0 });
  assert.ok(one.maps!.includes(one.exe!), 'the executable is among the mapped paths under /usr/');
  assert.ok(
    one.maps!.every((p) => p.startsWith('/usr/')),
    'only paths under the prefix',
  );
  // stat's clock fields move; the rest must agree.
  const stable = (s: string | null | undefined): string | undefined => s?.split(' ').slice(0, 13).join(' ');
  assert.equal(stable(one.stat), stable(parts.stat));
  assert.deepEqual({ ...one, stat: null }, { ...parts, stat: null });
});

test('native helper: the table request lists every process once, ascending, with its fields', async (t) => {
  if (!needHelper(t)) return;
  const { child } = await sleeper(t);
  const host = new NodeHost({ runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'enc-perf-run-')) });
  t.after(() => host.close());
  const table = await host.readProcesses(['argv', 'fds']);
  assert.equal(table.complete, true);
  const pids = table.entries.map((e) => e.pid);
  assert.deepEqual(
    pids,
    [...new Set(pids)].sort((a, b) => a - b),
    'ascending, each once',
  );
  const mine = table.entries.find((e) => e.pid === child.pid);
  assert.deepEqual(mine, await procEntryByParts(new NodeHost({ root: '/' }), child.pid!, ['argv', 'fds']));
  assert.deepEqual(mine?.argv, ['sleep', '300']);
  assert.deepEqual(
    table.entries.find((e) => e.pid === process.pid)?.argv,
    process.argv.slice(0, 1).concat(process.execArgv, process.argv.slice(1)),
  );
});

test('native helper: malformed link and table requests are refused, one line each', async (t) => {
  const helper = helperPath(path.join(REPO, 'dist/src/host'));
  if (!needHelper(t) || helper === null) return;
  const out = await helperReplies(helper, [
    'Q 1 1000 0 n -',
    'Q 2 1000 5 nz -',
    'T 3 1000 0 - -',
    'Q 4 1000 1',
    'T 5 0 0 a -',
    'T 6 1000 9 a - 9', // a range must hold at least one pid
    'Q 7 1000 1 a - 5', // only a table takes a last pid
  ]);
  assert.deepEqual(
    out.sort(),
    [1, 2, 3, 4, 5, 6, 7].map((id) => `E ${id} malformed request`),
  );
});

test('native helper: a table range (after, last] lists exactly the processes in it', async (t) => {
  const helper = helperPath(path.join(REPO, 'dist/src/host'));
  if (!needHelper(t) || helper === null) return;
  const pids = fs
    .readdirSync('/proc')
    .filter((n) => /^[0-9]+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  const after = pids[Math.floor(pids.length / 4)]!;
  const last = pids[Math.floor((pids.length * 3) / 4)]!;
  const out = await helperReplies(helper, [`T 1 1000 ${after} a - ${last}`]);
  assert.equal(out.at(-1), 'T 1 done');
  const listed = out.slice(0, -1).map((l) => Number(l.split(' ')[2]));
  assert.ok(listed.length > 0, 'the range is not empty');
  assert.ok(
    listed.every((p) => p > after && p <= last),
    `every pid in (${after}, ${last}]: ${listed.join(' ')}`,
  );
  // Processes that lived through the request (the stable ones of the range) are all there.
  const stable = pids.filter((p) => p > after && p <= last && fs.existsSync(`/proc/${p}`));
  assert.deepEqual(
    stable.filter((p) => !listed.includes(p)),
    [],
    'none of the range left out',
  );
});

test('the helper reply fields decode to links, fd lists, FUSE connections and mapped paths', () => {
  const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
  const e = procEntryFromFields(
    7,
    ['argv', 'stat', 'cwd', 'exe', 'fds', 'fuse', 'maps', 'root'],
    [hex('a\0b c\0'), '.', hex('/x y'), '-', `3:${hex('/dev/fuse')},9:${hex('/m/f')}`, '12,?', '.'],
  );
  assert.deepEqual(e, {
    pid: 7,
    argv: ['a', 'b c'],
    stat: '',
    cwd: '/x y',
    exe: null,
    fds: [
      { fd: '3', target: '/dev/fuse' },
      { fd: '9', target: '/m/f' },
    ],
    fuse: { connections: [12], unattached: 1 },
    maps: [],
    root: null, // a field the reply lacks is unreadable
  });
  assert.deepEqual(procEntryFromFields(1, ['fds', 'fuse', 'maps'], ['-', '-', '-']), {
    pid: 1,
    fds: null,
    fuse: null,
    maps: null,
  });
});

test('a host without the helper composes the same entries from its files (the fake host)', async () => {
  const host = new FakeHost();
  host.addProcess({ pid: 40, argv: ['bindfs', '/s', '/m'], uid: 0, gid: 0, fds: ['/dev/null', { fuse: 57 }] });
  host.addProcess({ pid: 41, argv: ['sleep', '9'], uid: 0, gid: 0 });
  const table = await host.readProcesses(['argv', 'fuse']);
  assert.equal(table.complete, true);
  assert.deepEqual(
    table.entries.filter((e) => e.pid === 40 || e.pid === 41),
    [
      { pid: 40, argv: ['bindfs', '/s', '/m'], fuse: { connections: [57], unattached: 0 } },
      { pid: 41, argv: ['sleep', '9'], fuse: { connections: [], unattached: 0 } },
    ],
  );
});
