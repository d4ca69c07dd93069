// (fixture) NFS and CIFS cannot be mounted on the test kernel: these tests replay a recorded mount
// table and recorded probe answers through the real CLI with --proc-root. They are not live tests.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { ScanReport } from '../../../src/mounts/scan.js';
import { REPO, privateDirs, runCli } from '../../helpers/live.js';

const FIXTURE = path.join(REPO, 'test/fixtures/proc/scan-network');

test('(fixture) scan reports hung NFS, stale NFS, CIFS EIO and the rest with backends and endpoints', async (t) => {
  const r = await runCli(['--proc-root', FIXTURE, 'scan', '--json'], { env: privateDirs(t) });
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout) as ScanReport;
  assert.equal(report.host, 'fixture-nfs-cifs');
  assert.equal(report.scannedAt, '2026-11-21T09:00:00.000Z');
  const rows = report.mounts.map((m) => [
    m.mountpoint,
    m.fstype,
    m.backend,
    m.state,
    m.errno ?? null,
    m.endpoint ?? null,
  ]);
  assert.deepEqual(rows, [
    ['/mnt/nfs-hung', 'nfs4', 'nfs', 'hung', null, '198.18.0.5:/export/home'],
    ['/mnt/nfs stale', 'nfs', 'nfs', 'stale', 'ESTALE', '198.18.0.6:/vol/data'],
    ['/mnt/share', 'cifs', 'cifs', 'io-error', 'EIO', '//winsrv/public (198.18.0.7:445)'],
    ['/mnt/docs', 'smb3', 'cifs', 'healthy', null, '//[fd00::7]/docs (fd00::7:445)'],
    ['/srv/ceph', 'ceph', 'network', 'healthy', null, '198.18.0.8:6789:/'],
    ['/mnt/cifs-dead', 'cifs', 'cifs', 'unknown', 'EHOSTDOWN', '//gone/share (198.18.0.9:445)'],
  ]);
  // The local root filesystem is not covered by default...
  assert.ok(!report.mounts.some((m) => m.mountpoint === '/'));
  // ...but is with --all (and its recorded probe is missing, which is reported, not invented).
  const all = JSON.parse(
    (await runCli(['--proc-root', FIXTURE, 'scan', '--all', '--json'], { env: privateDirs(t) })).stdout,
  ) as ScanReport;
  const root = all.mounts.find((m) => m.mountpoint === '/');
  assert.equal(root?.state, 'unknown');
  assert.equal(root?.errno, 'ENOFIXTURE');
});

test('(fixture) --type narrows the scan and --npd prints one line of at most 80 characters', async (t) => {
  const env = privateDirs(t);
  const nfsOnly = JSON.parse(
    (await runCli(['--proc-root', FIXTURE, 'scan', '--type', 'nfs,nfs4', '--json'], { env })).stdout,
  ) as ScanReport;
  assert.deepEqual(
    nfsOnly.mounts.map((m) => m.mountpoint),
    ['/mnt/nfs-hung', '/mnt/nfs stale'],
  );
  const npd = await runCli(['--proc-root', FIXTURE, 'scan', '--npd'], { env });
  assert.equal(npd.code, 1);
  const lines = npd.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.length <= 80, `npd line is ${lines[0]!.length} chars`);
  assert.match(lines[0]!, /^4 bad: \/mnt\/nfs-hung hung, \/mnt\/nfs stale stale\(ESTALE\)/);
  const healthy = await runCli(['--proc-root', FIXTURE, 'scan', '--npd', '/mnt/docs'], { env });
  assert.equal(healthy.code, 0);
  assert.equal(healthy.stdout, 'OK: 1 mounts healthy\n');
});

test('(fixture) the human table names every state and the summary counts them', async (t) => {
  const r = await runCli(['--proc-root', FIXTURE, 'scan'], { env: privateDirs(t) });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^MOUNTPOINT\s+FSTYPE\s+BACKEND\s+STATE\s+DETAIL\s+SOURCE$/m);
  assert.match(r.stdout, /^\/mnt\/nfs stale\s+nfs\s+nfs\s+stale\s+ESTALE \(statfs\)/m);
  assert.match(r.stdout, /6 mounts on fixture-nfs-cifs: 1 hung, 1 stale, 1 io-error, 2 healthy, 1 unknown/);
  assert.ok(!r.stdout.includes('\x1b['), 'no colour when stdout is not a TTY');
});
