// The loop's decisions against a fixture host (recorded probe answers) and a fake heal.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import type { ProbeResult } from '../../../src/host/types.js';
import type { HealOptions, HealReport } from '../../../src/mounts/heal/apply.js';
import type { Diagnosis } from '../../../src/mounts/diagnosis.js';
import { Alerter, type AlertEvent } from '../../../src/watch/alerts.js';
import { parseConfig } from '../../../src/watch/config.js';
import { IncidentBook } from '../../../src/watch/incidents.js';
import { silentLogger } from '../../../src/watch/logger.js';
import { globToRegExp, WatchLoop } from '../../../src/watch/loop.js';
import { WatchMetrics } from '../../../src/watch/metrics.js';
import { WatchState } from '../../../src/watch/state.js';
import { WatchStore } from '../../../src/watch/store.js';
import type { Supervisor } from '../../../src/watch/supervisor.js';

const MP = '/mnt/x';
const DEAD: ProbeResult = { state: 'dead', errno: 'ENOTCONN', syscall: 'statfs', latencyMs: 0.1 };
const HEALTHY: ProbeResult = { state: 'healthy', latencyMs: 0.2 };

function healReport(result: HealReport['result'], validated: boolean): HealReport {
  return {
    mountpoint: MP,
    result,
    reason: result,
    validated,
    recipe: null,
    stillOnOldMount: [],
    durationMs: 1,
    diagnosis: {
      causes: [{ id: 'daemon-gone', confidence: 0.9, summary: 'sshfs is gone', evidence: [] }],
    } as unknown as Diagnosis,
    steps: [
      {
        step: { action: 'unmount-lazy', argv: ['fusermount3', '-uz', MP], risk: 'safe', why: '' },
        ok: true,
        skipped: false,
        code: 0,
        output: '',
        durationMs: 1,
      },
      {
        step: { action: 'remount', argv: ['sshfs', 'h:/', MP], risk: 'safe', why: '' },
        ok: validated,
        skipped: false,
        code: 0,
        output: '',
        durationMs: 1,
      },
    ],
  };
}

function setup(
  t: TestContext,
  yaml: string,
  heal: (opts: HealOptions) => HealReport,
  supervisors: ReadonlyMap<string, Supervisor> = new Map(),
) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-wloop-'));
  fs.mkdirSync(path.join(root, 'proc/self'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'proc/self/mountinfo'),
    `1 0 8:1 / / rw - ext4 /dev/vda rw\n60 1 0:61 / ${MP} rw - fuse.sshfs u@h:/d rw,user_id=0\n61 1 0:62 / /other rw - fuse.sshfs u@h:/o rw\n`,
  );
  const probes: Record<string, ProbeResult> = { [MP]: DEAD, '/other': HEALTHY };
  const host = new FixtureHost(root, {
    stateDir: path.join(root, 'state'),
    runDir: path.join(root, 'run'),
    recording: { probes },
  });
  const config = parseConfig(yaml);
  const store = WatchStore.open(host.stateDir);
  const state = new WatchState();
  const metrics = new WatchMetrics(state, { inFlight: () => 0, orphans: () => 0 }, () => 0, { processMetrics: false });
  const alerter = new Alerter(host, store, config.alerts, silentLogger());
  const events: AlertEvent[] = [];
  alerter.emit = (ev) => void events.push(ev);
  const incidents = new IncidentBook(store, metrics, alerter, silentLogger());
  const calls = { heal: [] as HealOptions[], diagnose: 0 };
  const loop = new WatchLoop({
    host,
    config,
    state,
    store,
    metrics,
    alerter,
    incidents,
    log: silentLogger(),
    supervisors,
    heal: (_h, _p, opts) => {
      calls.heal.push(opts);
      return Promise.resolve(heal(opts));
    },
    diagnose: () => {
      calls.diagnose++;
      return Promise.resolve({
        causes: [{ id: 'daemon-gone', confidence: 1, summary: 'gone', evidence: [] }],
      } as unknown as Diagnosis);
    },
    recordRecipes: () => Promise.resolve(0),
  });
  t.after(() => {
    loop.stop();
    store.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { loop, state, store, metrics, events, calls, probes, host };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('one failed probe is a blip; the second opens the incident, heals, and closes it healed', async (t) => {
  const s = setup(t, 'observe: { include: ["/mnt/**"] }\nheal: { policy: on }\n', (opts) => {
    assert.equal(opts.dryRun, false);
    s.probes[MP] = HEALTHY;
    return healReport('healed', true);
  });
  await s.loop.cycle();
  assert.equal(s.state.mounts.get(MP)?.state, 'dead');
  assert.equal(s.state.mounts.has('/other'), false, 'observe.include leaves /other out');
  assert.equal(s.store.listIncidents().length, 0, 'no incident after one failure');
  assert.equal(s.calls.heal.length, 0);
  await s.loop.cycle();
  assert.equal(s.calls.heal.length, 1);
  const [inc] = s.store.listIncidents();
  assert.equal(inc!.cause, 'daemon-gone');
  assert.equal(inc!.resolution, 'healed');
  assert.notEqual(inc!.closedAt, null);
  assert.deepEqual(
    s.store.listHeals().map((h) => [h.action, h.result]),
    [['remount', 'healed']],
  );
  assert.deepEqual(
    s.events.map((e) => e.kind),
    ['incident-opened', 'incident-closed'],
  );
  assert.equal(s.state.mounts.get(MP)?.state, 'healthy');
  assert.deepEqual(s.store.journalEntries(), [], 'the journal entry is removed after the heal');
  const text = await s.metrics.render();
  assert.match(text, /enotconn_heals_total\{mountpoint="\/mnt\/x",action="remount",result="healed"\} 1/);
  assert.match(text, /enotconn_incidents_total\{mountpoint="\/mnt\/x",cause="daemon-gone"\} 1/);
});

test('a failed heal backs off, alerts heal-failed, and K heals in the window open the breaker (flapping)', async (t) => {
  const s = setup(
    t,
    'observe: { include: ["/mnt/**"] }\nheal:\n  policy: on\n  failuresBeforeIncident: 1\n  backoff: { initial: 30ms, max: 30ms }\n  breaker: { maxHeals: 2, window: 1m, cooldown: 1h }\n',
    () => healReport('failed', false),
  );
  await s.loop.cycle();
  assert.equal(s.calls.heal.length, 1);
  await s.loop.cycle();
  assert.equal(s.calls.heal.length, 1, 'backoff: no second heal at once');
  await sleep(40);
  await s.loop.cycle();
  assert.equal(s.calls.heal.length, 2);
  await sleep(40);
  await s.loop.cycle();
  assert.equal(s.calls.heal.length, 2, 'the breaker stopped healing');
  assert.equal(s.state.mounts.get(MP)?.breakerOpen, true);
  assert.deepEqual(
    s.events.map((e) => e.kind),
    ['incident-opened', 'heal-failed', 'heal-failed', 'flapping'],
  );
  await sleep(40);
  await s.loop.cycle();
  assert.equal(s.events.filter((e) => e.kind === 'flapping').length, 1, 'flapping is alerted once');
  assert.equal(s.store.listIncidents()[0]!.healAttempts, 2);
});

test('heal policy off diagnoses once for the cause and never heals; dry-run plans once per incident', async (t) => {
  const off = setup(t, 'observe: { include: ["/mnt/**"] }\nheal: { policy: off }\n', () =>
    assert.fail('healed with policy off'),
  );
  for (let i = 0; i < 4; i++) await off.loop.cycle();
  assert.equal(off.calls.diagnose, 1);
  assert.equal(off.store.listIncidents()[0]!.cause, 'daemon-gone');
  const dry = setup(t, 'observe: { include: ["/mnt/**"] }\nheal: { policy: dry-run }\n', (o) => {
    assert.equal(o.dryRun, true);
    return { ...healReport('dry-run', false), steps: [] };
  });
  for (let i = 0; i < 4; i++) await dry.loop.cycle();
  assert.equal(dry.calls.heal.length, 1);
  assert.deepEqual(
    dry.store.listHeals().map((h) => h.result),
    ['dry-run'],
  );
  assert.deepEqual(dry.store.journalEntries(), [], 'a dry run is not journaled');
});

test('denied is not a fault: no incident', async (t) => {
  const s = setup(t, 'observe: { include: ["/mnt/**"] }\nheal: { policy: on }\n', () =>
    assert.fail('healed a denied mount'),
  );
  s.probes[MP] = { state: 'denied', errno: 'EACCES', syscall: 'statfs', latencyMs: 0.1 };
  for (let i = 0; i < 3; i++) await s.loop.cycle();
  assert.equal(s.state.mounts.get(MP)?.state, 'denied');
  assert.equal(s.store.listIncidents().length, 0);
});

test('the mount table is read again only when the host says it may have changed, and a new mount is then watched', async (t) => {
  const s = setup(t, 'observe: { include: ["/mnt/**", "/other"] }\nheal: { policy: off }\n', () =>
    assert.fail('heal policy off'),
  );
  s.probes[MP] = HEALTHY;
  const file = path.join(s.host.root, 'proc/self/mountinfo');
  let reads = 0;
  const readText = s.host.readText.bind(s.host);
  s.host.readText = (p, max) => {
    if (p === file) reads++;
    return readText(p, max);
  };
  let changed = false; // what the helper's watch would say
  let asked = 0;
  s.host.mountTableMayHaveChanged = () => {
    asked++;
    const c = changed;
    changed = false;
    return c;
  };
  await s.loop.cycle();
  assert.equal(reads, 1, 'the first cycle reads the table');
  assert.equal(asked, 0, 'with no table yet, the host is not asked');
  // A mount appears, but the host's watch has not said so: the loop keeps its table...
  fs.appendFileSync(file, '62 1 0:63 / /mnt/y rw - fuse.sshfs u@h:/y rw\n');
  s.probes['/mnt/y'] = HEALTHY;
  await s.loop.cycle();
  await s.loop.cycle();
  assert.equal(reads, 1);
  assert.equal(asked, 2);
  assert.deepEqual([...s.state.mounts.keys()].sort(), [MP, '/other']);
  // ...and reads it, and watches the new mount, in the first cycle after the watch says changed.
  changed = true;
  await s.loop.cycle();
  assert.equal(reads, 2);
  assert.deepEqual([...s.state.mounts.keys()].sort(), [MP, '/mnt/y', '/other']);
  assert.equal(s.state.mounts.get('/mnt/y')?.state, 'healthy');
});

test('globs: * stays in one path segment, ** crosses them', () => {
  assert.ok(globToRegExp('/mnt/*').test('/mnt/a'));
  assert.ok(!globToRegExp('/mnt/*').test('/mnt/a/b'));
  assert.ok(globToRegExp('/mnt/**').test('/mnt/a/b'));
  assert.ok(
    globToRegExp('/var/lib/kubelet/pods/**/volumes/**').test(
      '/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/v/mount',
    ),
  );
  assert.ok(!globToRegExp('/mnt/a.b').test('/mnt/axb'));
});

test('a managed mount: a probe in flight while its daemon exited and a new one came up is dropped', async (t) => {
  const sup = {
    epoch: 0,
    pid: 4242,
    kills: [] as string[],
    restartUnhealthy(reason: string): void {
      this.kills.push(reason);
    },
  };
  const s = setup(
    t,
    'observe: { include: ["/none/**"] }\nheal: { policy: on }\n',
    () => healReport('healed', true),
    new Map([[MP, sup as unknown as Supervisor]]),
  );
  const v = s.state.ensure(MP, { fstype: 'fuse.sshfs', source: 'u@h:/d', managed: 'b', state: 'healthy' }, 0);
  // Each probe answers DEAD (about the old mount); while it runs, the old daemon exits and the
  // supervisor validates a new one (two epochs on, healthy again).
  const probe = s.host.probe.bind(s.host);
  s.host.probe = async (...args: Parameters<typeof probe>) => {
    const r = await probe(...args);
    sup.epoch += 2;
    v.healing = false;
    s.state.setState(v, 'healthy', null, 1);
    return r;
  };
  await s.loop.cycle();
  await s.loop.cycle();
  assert.equal(v.state, 'healthy');
  assert.deepEqual(sup.kills, [], 'the new daemon is never killed over the old mount');
  assert.equal(s.store.listIncidents().length, 0);
  // The same answers with no exit meanwhile are judged: dead, an incident, the daemon killed.
  s.host.probe = probe;
  await s.loop.cycle();
  await s.loop.cycle();
  assert.equal(v.state, 'dead');
  assert.deepEqual(sup.kills, ['dead (ENOTCONN)']);
});

test('a healthy observed mount is probed quietly within its latency band; a failing, new or stale one in full', async (t) => {
  const s = setup(t, 'observe: { include: ["/mnt/**", "/other"] }\nheal: { policy: off }\n', () =>
    assert.fail('heal policy off'),
  );
  let now = 1_000_000;
  s.host.now = () => now;
  const sent: Array<[string, readonly [number, number] | undefined]> = [];
  const answer = new Map<string, number>([['/other', 0.2]]); // /other's latency (ms); MP stays dead
  // As the native helper answers: a healthy answer inside its band is left out (`unchanged`).
  s.host.probe = (targets, opts) => {
    assert.deepEqual(opts.latencyBucketsUs?.slice(0, 3), [500, 1000, 2500]);
    return Promise.resolve(
      targets.map((x): ProbeResult => {
        sent.push([x.path, x.unchangedBandUs]);
        const ms = answer.get(x.path);
        if (ms === undefined) return DEAD;
        const b = x.unchangedBandUs;
        return b && ms * 1000 >= b[0] && ms * 1000 < b[1]
          ? { state: 'healthy', latencyMs: 0.3, unchanged: true }
          : { state: 'healthy', latencyMs: ms };
      }),
    );
  };
  const other = (): string[] => sent.filter(([p]) => p === '/other').map(([, b]) => JSON.stringify(b ?? null));
  const count = async (): Promise<string> =>
    /^enotconn_probe_duration_seconds_count (\d+)$/m.exec(await s.metrics.render())![1]!;

  await s.loop.cycle(); // new: in full
  await s.loop.cycle(); // healthy at 0.2 ms: quiet, left out, band up to 2.5 ms
  assert.deepEqual(other(), ['null', '[0,2501]']);
  assert.equal(s.state.mounts.get('/other')?.latencyMs, 0.2, 'the latency shown is the one measured');
  assert.equal(await count(), '4', 'every probe is in the histogram, left-out ones included');
  assert.deepEqual(
    sent.filter(([p]) => p === MP).map(([, b]) => b),
    [undefined, undefined],
    'a dead mount is always probed in full',
  );
  // Slower than its band: answered, and the band follows (5 ms: up to the 10 ms bucket).
  answer.set('/other', 5);
  await s.loop.cycle();
  await s.loop.cycle();
  assert.deepEqual(other().slice(2), ['[0,2501]', '[0,10001]']);
  assert.equal(s.state.mounts.get('/other')?.latencyMs, 5);
  // 45-75 s after the last measured latency, one probe in full measures it again.
  now += 76_000;
  await s.loop.cycle();
  await s.loop.cycle();
  assert.deepEqual(other().slice(4), ['null', '[0,10001]']);
});
