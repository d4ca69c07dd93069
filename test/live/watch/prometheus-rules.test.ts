// The Prometheus alerting rules in deploy/ pass `promtool check rules` and `promtool test rules`
// (Debian's prometheus package), and alert on the metric names DESIGN §3 defines.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, requireBinary } from '../../helpers/live.js';

const DIR = path.join(REPO, 'deploy/prometheus');

test('promtool check rules: the five enotconn alerts are valid', (t) => {
  if (!requireBinary(t, 'promtool')) return;
  const r = spawnSync('promtool', ['check', 'rules', 'enotconn-rules.yaml'], {
    cwd: DIR,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 5 rules found/);
  const text = fs.readFileSync(path.join(DIR, 'enotconn-rules.yaml'), 'utf8');
  for (const a of [
    'EnotconnWatchDown',
    'EnotconnMountDown',
    'EnotconnMountFlapping',
    'EnotconnHealFailed',
    'EnotconnProbeOrphans',
  ]) {
    assert.match(text, new RegExp(`alert: ${a}\\n`));
  }
});

test('promtool test rules: watch down, mount down, flapping, heal failed and probe orphans fire when they should', (t) => {
  if (!requireBinary(t, 'promtool')) return;
  const r = spawnSync('promtool', ['test', 'rules', 'enotconn-rules.test.yaml'], {
    cwd: DIR,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
});

test('every alert has a promtool rule test, and the dashboard counts down mounts as the rules do (denied is not down)', () => {
  const rules = fs.readFileSync(path.join(DIR, 'enotconn-rules.yaml'), 'utf8');
  const tests = fs.readFileSync(path.join(DIR, 'enotconn-rules.test.yaml'), 'utf8');
  const alerts = [...rules.matchAll(/alert: (\w+)/g)].map((m) => m[1]!);
  assert.equal(alerts.length, 5);
  for (const a of alerts) assert.match(tests, new RegExp(`alertname: ${a}\\n`), `${a} has no rule test`);
  const dash = JSON.parse(fs.readFileSync(path.join(REPO, 'deploy/grafana/enotconn-watch.json'), 'utf8')) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  };
  const down = dash.panels.find((p) => p.title === 'Mounts down')!.targets![0]!.expr;
  assert.match(down, /enotconn_mount_up\{[^}]*\} == 0\) unless on \(instance, job, mountpoint\)/);
  assert.match(down, /state="denied"\} == 1/);
  assert.match(
    rules,
    /\(enotconn_mount_up == 0\)\s+unless on \(instance, job, mountpoint\)\s+\(enotconn_mount_state\{state="denied"\} == 1\)/,
  );
  const up = dash.panels.find((p) => p.title === 'watch up')!.targets![0]!.expr;
  assert.match(up, /^up\{job="enotconn"/);
});
