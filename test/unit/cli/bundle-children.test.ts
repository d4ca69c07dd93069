// The npm bundle starts its children (the probe child, its worker, the lab child) from its own
// files: a copy of dist/bundle alone, away from dist/src, still probes and runs a lab scenario.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ScanReport } from '../../../src/mounts/scan.js';
import { REPO, privateDirs, tempDir } from '../../helpers/live.js';
import { runArgv } from '../../helpers/run-argv.js';

test('a copy of the bundle alone probes through its probe child and runs the lab child', async (t) => {
  const dir = tempDir(t, 'enc-ship-bundle-');
  fs.cpSync(path.join(REPO, 'dist/bundle'), path.join(dir, 'bundle'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  const cli = [process.execPath, path.join(dir, 'bundle/enotconn.cjs')];
  const env = { ...process.env, NO_COLOR: '1', ...privateDirs(t) };

  const scan = await runArgv([...cli, 'scan', '--type', 'proc', '--json', '/proc'], { env });
  assert.equal(scan.stderr, '');
  assert.equal(scan.code, 0);
  const r = JSON.parse(scan.stdout) as ScanReport;
  assert.deepEqual(
    r.mounts.map((m) => [m.mountpoint, m.fstype, m.state]),
    [['/proc', 'proc', 'healthy']],
  );
  assert.ok((r.mounts[0]!.latencyMs ?? -1) >= 0);

  const lab = await runArgv([...cli, 'lab', '--json', 'connect-refused'], { env });
  assert.equal(lab.code, 0, lab.stderr);
  const out = JSON.parse(lab.stdout) as { ok: boolean; scenarios: Array<{ name: string; ok: boolean }> };
  assert.deepEqual(
    out.scenarios.map((s) => [s.name, s.ok]),
    [['connect-refused', true]],
  );

  // An unknown child role is refused, never run as the CLI.
  const bad = await runArgv([...cli, '--enotconn-role=bogus'], { env });
  assert.equal(bad.stderr, "enotconn: unknown child role 'bogus'\n");
  assert.equal(bad.code, 2);
});
