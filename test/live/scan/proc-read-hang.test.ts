// Live, on both probe engines: a process whose /proc files block. perl opens a file on a bindfs
// mount (close-on-exec), the bindfs daemon is stopped, and perl calls execve: the kernel closes the
// file (FUSE_FLUSH, which the stopped daemon never answers) while it holds the process's exec lock,
// so every read of its /proc/PID/stat, environ and maps waits for as long as the daemon is stopped.
// Reading that process's recipe in this process must still return, and must not take this
// process's libuv threads with it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { readProcStat } from '../../../src/host/proc.js';
import { recipeFromProcess } from '../../../src/mounts/heal/recipes.js';
import { parseMountinfo } from '../../../src/mounts/mountinfo/parse.js';
import { killHard, liveBindfs, requireBinary, tempDir, useProbeEngine, waitFor } from '../../helpers/live.js';

// Resolves to 'still waiting' unless `p` settles first (a guard, so a hang fails the test).
function orHang<T>(p: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout;
  const guard = new Promise<'still waiting'>((r) => (timer = setTimeout(() => r('still waiting'), ms)));
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

for (const engine of ['native', 'node'] as const) {
  test(`${engine} engine: a process stuck in execve on a stopped FUSE mount: its recipe read returns, and this process’s file I/O goes on`, async (t) => {
    if (!requireBinary(t, 'bindfs', 'perl') || !useProbeEngine(t, engine)) return;
    const dir = tempDir(t, 'enc-trust-procread-');
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src', 'f'), 'x');
    fs.writeFileSync(path.join(dir, 'local.txt'), 'local\n');
    const m = await liveBindfs(t, path.join(dir, 'src'), path.join(dir, 'mnt'));
    const mount = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'latin1')).find(
      (x) => x.mountpoint === m.mountpoint,
    )!;
    // perl opens files close-on-exec (above $^F); it waits for a line, then execs.
    const perl = spawn(
      'perl',
      [
        '-e',
        'open(F, "<", $ARGV[0]) or die "open: $!"; $| = 1; print "ready\\n"; <STDIN>; exec "/bin/sleep", "600"',
        path.join(m.mountpoint, 'f'),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    t.after(() => killHard(perl.pid!));
    let out = '';
    perl.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => out === 'ready\n', 10_000, 'perl to open the file');
    process.kill(m.daemonPid, 'SIGSTOP');
    t.after(() => process.kill(m.daemonPid, 'SIGCONT'));
    const waiting = `/sys/fs/fuse/connections/${mount.minor}/waiting`;
    assert.equal(fs.readFileSync(waiting, 'utf8').trim(), '0');
    perl.stdin.write('go\n');
    // The FLUSH of the close-on-exec file waits in the connection: perl is inside execve now.
    await waitFor(() => fs.readFileSync(waiting, 'utf8').trim() === '1', 10_000, 'the FLUSH to wait on the daemon');

    const host = new NodeHost({ runDir: path.join(dir, 'run'), stateDir: path.join(dir, 'state') });
    t.after(() => host.close());
    // More reads than libuv has threads (4): none of them may wait in this process.
    const reads = Promise.all([
      ...Array.from({ length: 6 }, () => recipeFromProcess(host, mount, perl.pid!)),
      readProcStat(host, perl.pid!),
      host.readText(host.proc(perl.pid!, 'environ')),
      host.readText(host.proc(perl.pid!, 'maps')),
    ]);
    const got = await orHang(reads, 30_000);
    assert.notEqual(got, 'still waiting', 'a /proc read of the stuck process blocked root’s process');
    // Nothing readable: no argv (the new image's is not set up yet), no stat, environ or maps.
    assert.deepEqual(got, [null, null, null, null, null, null, null, null, null]);
    assert.equal(await orHang(fsp.readFile(path.join(dir, 'local.txt'), 'utf8'), 30_000), 'local\n');
    assert.equal(fs.readFileSync(waiting, 'utf8').trim(), '1', 'perl was stuck in execve all along');

    process.kill(m.daemonPid, 'SIGCONT');
    await waitFor(
      async () => (await host.readText(host.proc(perl.pid!, 'cmdline'))) === '/bin/sleep\u0000600\u0000',
      10_000,
      'the execve to finish once the daemon runs again',
    );
    assert.equal((await readProcStat(host, perl.pid!))?.pid, perl.pid);
  });
}
