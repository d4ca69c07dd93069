// Live: the probe runner inside this test process, against real bindfs mounts, one of them with
// its daemon stopped (SIGSTOP). Asserts the order things finish in, not how fast.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { liveBindfs, requireBinary, tempDir, useProbeEngine } from '../../helpers/live.js';

function probeChildrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'latin1');
      if (Number(fields[1]) === ppid && (cmd.includes('probe-child') || cmd.includes('enotconn-helper')))
        out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

for (const engine of ['native', 'node'] as const) {
  test(`${engine} engine: a hung probe delays neither another mount’s probe nor this process’s own file I/O`, async (t) => {
    if (!requireBinary(t, 'bindfs', 'fusermount3') || !useProbeEngine(t, engine)) return;
    const dir = tempDir(t);
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'local.txt'), 'x'.repeat(4096));
    const stopped = await liveBindfs(t, path.join(dir, 'src'), path.join(dir, 'stopped'));
    const healthy = await liveBindfs(t, path.join(dir, 'src'), path.join(dir, 'healthy'));
    const host = new NodeHost({ runDir: path.join(dir, 'run'), stateDir: path.join(dir, 'state') });
    t.after(() => host.close());
    process.kill(stopped.daemonPid, 'SIGSTOP');
    t.after(() => process.kill(stopped.daemonPid, 'SIGCONT'));

    const order: string[] = [];
    const opts = { timeoutMs: 1500, concurrency: 4 };
    const hung = host.probe([{ key: 'stopped', path: stopped.mountpoint }], opts).then((r) => {
      order.push('hung-probe');
      return r[0]!;
    });
    // Saturate the default libuv threadpool (4 threads) with our own file reads while the probe hangs.
    const io = Promise.all(Array.from({ length: 16 }, () => fsp.readFile(path.join(dir, 'local.txt')))).then(() => {
      order.push('file-io');
    });
    const ok = host.probe([{ key: 'healthy', path: healthy.mountpoint }], opts).then((r) => {
      order.push('healthy-probe');
      return r[0]!;
    });
    // While the first probe is stuck, a second probe of the same mount is not started.
    const again = await host.probe([{ key: 'stopped', path: stopped.mountpoint }], opts);
    assert.equal(again[0]!.state, 'hung');
    assert.equal((again[0] as { skipped?: boolean }).skipped, true);
    order.push('second-probe-skipped');

    const [h, o] = await Promise.all([hung, ok, io]);
    assert.equal(h.state, 'hung');
    assert.equal(o.state, 'healthy');
    assert.equal(order.at(-1), 'hung-probe', `order: ${order.join(' < ')}`);
    assert.ok(order.indexOf('second-probe-skipped') < order.indexOf('hung-probe'));
  });

  test(`${engine} engine: twenty healthy mounts are probed by one probe engine process, not a process per mount`, async (t) => {
    if (!requireBinary(t, 'bindfs', 'fusermount3') || !useProbeEngine(t, engine)) return;
    const dir = tempDir(t);
    fs.mkdirSync(path.join(dir, 'src'));
    const mounts = [];
    for (let i = 0; i < 20; i++) mounts.push(await liveBindfs(t, path.join(dir, 'src'), path.join(dir, `m${i}`)));
    const host = new NodeHost({ runDir: path.join(dir, 'run'), stateDir: path.join(dir, 'state') });
    t.after(() => host.close());
    const results = await host.probe(
      mounts.map((m, i) => ({ key: `m${i}`, path: m.mountpoint })),
      { timeoutMs: 2000, concurrency: 4 },
    );
    assert.deepEqual(
      results.map((r) => r.state),
      Array(20).fill('healthy'),
    );
    assert.equal(probeChildrenOf(process.pid).length, 1);
  });
}
