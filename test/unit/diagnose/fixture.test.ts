// Fixture tests for diagnose: what this kernel cannot do live (NFS, CIFS, ESTALE), on recorded
// /proc trees and kernel log lines under test/fixtures/proc/diagnose-*.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { FixtureHost, type FixtureRecording } from '../../../src/host/fixture-host.js';
import { diagnose } from '../../../src/mounts/diagnose.js';
import { REPO, runCli } from '../../helpers/live.js';

const FIX = path.join(REPO, 'test/fixtures/proc');

function host(t: TestContext, name: string, recording?: FixtureRecording): FixtureHost {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-fix-'));
  t.after(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const h = new FixtureHost(path.join(FIX, name), {
    stateDir: path.join(scratch, 'state'),
    runDir: path.join(scratch, 'run'),
    ...(recording ? { recording } : {}),
  });
  t.after(() => h.close());
  return h;
}

test('(fixture) a hung NFS mount whose server is "not responding" gives backend-unreachable with the kernel line', async (t) => {
  const d = await diagnose(host(t, 'diagnose-nfs-hung'), '/mnt/nfs/data/big.iso');
  assert.equal(d.state, 'hung');
  assert.equal(d.mount.mountpoint, '/mnt/nfs');
  assert.equal(d.mount.backend, 'nfs');
  assert.equal(d.daemon, null);
  assert.equal(d.fuse, null);
  assert.deepEqual(
    d.causes.map((c) => c.id),
    ['backend-unreachable', 'mount-busy'],
  );
  const c = d.causes[0]!;
  assert.equal(c.confidence, 0.95);
  assert.equal(c.summary, 'the backend 10.0.0.5:/export cannot be reached: 10.0.0.5:2049 timed-out');
  // The "not responding" for 10.0.0.9 was cancelled by its later "OK": only 10.0.0.5's line is cited.
  const kmsg = c.evidence.filter((e) => e.source === 'kmsg');
  assert.deepEqual(kmsg, [
    { source: 'kmsg', detail: 'nfs: server 10.0.0.5 not responding, still trying', at: '2026-11-21T08:58:20.000Z' },
  ]);
  assert.deepEqual(d.endpoint, {
    display: '10.0.0.5:/export',
    checks: [{ host: '10.0.0.5', port: 2049, result: 'timed-out', latencyMs: 1000 }],
  });
  assert.deepEqual(
    d.holders.map((h) => [h.pid, h.comm, h.user, h.how, h.paths]),
    [
      [1200, 'bash', 'alice', ['cwd'], ['/mnt/nfs/data']],
      [1300, 'cp', 'alice', ['cwd', 'fd'], ['/mnt/nfs/data', '/mnt/nfs/data/big.iso']],
    ],
  );
  assert.ok(Array.isArray(d.plan));
});

test('(fixture) a hung CIFS mount whose server refuses 445 gives backend-unreachable citing the CIFS line', async (t) => {
  const d = await diagnose(host(t, 'diagnose-cifs-hung'), '/mnt/share');
  assert.equal(d.state, 'hung');
  assert.equal(d.mount.backend, 'cifs');
  assert.equal(d.causes[0]?.id, 'backend-unreachable');
  assert.equal(d.causes[0]?.confidence, 0.95);
  assert.match(d.causes[0]!.summary, /10\.0\.0\.7:445 refused/);
  assert.deepEqual(
    d.causes[0]!.evidence.filter((e) => e.source === 'kmsg').map((e) => [e.detail, e.at]),
    [['CIFS: VFS: \\\\fileserver has not responded in 180 seconds. Reconnecting...', '2026-11-21T08:56:40.000Z']],
  );
  assert.deepEqual(
    d.options.map((o) => o.id),
    [],
  );
});

test('(fixture) an NFS mount answering ESTALE gives stale-handle', async (t) => {
  const d = await diagnose(
    host(t, 'diagnose-nfs-hung', {
      now: '2026-11-21T09:00:00.000Z',
      probes: { '/mnt/nfs': { state: 'stale', errno: 'ESTALE', syscall: 'statfs', latencyMs: 2 } },
      tcp: { '10.0.0.5:2049': { ok: true, latencyMs: 0.5 } },
    }),
    '/mnt/nfs',
  );
  assert.equal(d.state, 'stale');
  assert.equal(d.mount.errno, 'ESTALE');
  assert.equal(d.causes[0]?.id, 'stale-handle');
  assert.deepEqual(d.causes[0]?.evidence, [{ source: 'probe', detail: 'statfs(/mnt/nfs) failed with ESTALE in 2ms' }]);
  // The server answers again, but the kernel line is still unanswered: a weaker backend cause.
  const backend = d.causes.find((c) => c.id === 'backend-unreachable');
  assert.equal(backend?.confidence, 0.6);
});

test('(fixture) a soft NFS mount answering EIO (its retries ran out) is io-error, caused by the unreachable server', async (t) => {
  // nfs(5): on a soft mount a request that exhausts retrans fails with EIO instead of hanging.
  const d = await diagnose(
    host(t, 'diagnose-nfs-hung', {
      now: '2026-11-21T09:00:00.000Z',
      probes: { '/mnt/nfs': { state: 'io-error', errno: 'EIO', syscall: 'lstat', latencyMs: 30000 } },
    }),
    '/mnt/nfs',
  );
  assert.equal(d.state, 'io-error');
  assert.equal(d.mount.errno, 'EIO');
  assert.equal(d.mount.syscall, 'lstat');
  assert.equal(d.causes[0]?.id, 'backend-unreachable');
  assert.equal(d.causes[0]?.confidence, 0.95);
  assert.ok(
    d.causes[0]?.evidence.some(
      (e) => e.source === 'probe' && e.detail === 'lstat(/mnt/nfs) failed with EIO in 30000ms',
    ),
    JSON.stringify(d.causes[0]?.evidence),
  );
});

test('(fixture) the CLI prints the NFS diagnosis as JSON in the DESIGN shape and exits 1', async () => {
  const r = await runCli(['--proc-root', path.join(FIX, 'diagnose-nfs-hung'), 'diagnose', '/mnt/nfs', '--json'], {
    env: { ENOTCONN_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'enc-fix-state-')) },
  });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, '');
  const d = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const key of ['mount', 'state', 'causes', 'daemon', 'plan']) assert.ok(key in d, `has ${key}`);
  const cause = (d.causes as Array<Record<string, unknown>>)[0]!;
  assert.deepEqual(Object.keys(cause).sort(), ['confidence', 'evidence', 'id', 'summary']);
  const mount = d.mount as Record<string, unknown>;
  assert.equal(mount.state, 'hung');
  assert.equal(mount.fstype, 'nfs4');
});

test('(fixture) the human report names the state, the causes with evidence, and the holders', async () => {
  const r = await runCli(['--proc-root', path.join(FIX, 'diagnose-nfs-hung'), 'diagnose', '/mnt/nfs'], {
    env: { ENOTCONN_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'enc-fix-state-')) },
  });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^State: hung \(no answer in 1\.0s\)$/m);
  assert.match(r.stdout, /^ {2}1\. backend-unreachable \(95%\): the backend 10\.0\.0\.5:\/export cannot be reached/m);
  assert.match(r.stdout, /\[kmsg\] 2026-11-21 08:58:20Z nfs: server 10\.0\.0\.5 not responding, still trying/);
  assert.match(r.stdout, /^ {2}1300 +alice +cp +cwd,fd +\/mnt\/nfs\/data \/mnt\/nfs\/data\/big\.iso$/m);
});
