// The status page's order, source column, refresh and 24 h timelines, from plain data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MountView } from '../../../src/watch/state.js';
import { HISTORY_MS, renderStatusPage, sortMounts, timeline } from '../../../src/watch/status-page.js';
import type { IncidentRow } from '../../../src/watch/store.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const H = 3_600_000;

function view(mountpoint: string, state: MountView['state'], extra: Partial<MountView> = {}): MountView {
  return {
    mountpoint,
    fstype: 'fuse',
    backend: 'bindfs',
    source: `/srv${mountpoint}`,
    managed: null,
    state,
    errno: null,
    since: NOW - H,
    lastProbeAt: NOW,
    latencyMs: 0.3,
    consecutiveFailures: 0,
    incidentId: null,
    cause: null,
    healing: false,
    breakerOpen: false,
    heals: 0,
    lastHealAt: null,
    lastHealResult: null,
    nextHealAt: null,
    daemonPid: null,
    mountId: null,
    recipeRecorded: false,
    probing: false,
    regraftDue: false,
    device: null,
    ...extra,
  };
}

function incident(
  id: number,
  mountpoint: string,
  firstSeenAt: number,
  closedAt: number | null,
  state = 'dead',
): IncidentRow {
  return {
    id,
    mountpoint,
    fstype: 'fuse',
    backend: 'bindfs',
    managed: false,
    state,
    errno: 'ENOTCONN',
    cause: 'daemon-gone',
    causeSummary: null,
    firstSeenAt,
    openedAt: firstSeenAt + 1000,
    closedAt,
    resolution: closedAt === null ? null : 'healed',
    actions: [],
    healAttempts: 1,
    timeToHealMs: closedAt === null ? null : closedAt - firstSeenAt,
  };
}

test('mounts that need attention come first: failing, hung, unknown, then denied and healthy', () => {
  const order = sortMounts([
    view('/a-healthy', 'healthy'),
    view('/b-hung', 'hung'),
    view('/c-denied', 'denied'),
    view('/d-dead', 'dead'),
    view('/e-unknown', 'unknown'),
    view('/a-stale', 'stale'),
  ]).map((v) => v.mountpoint);
  assert.deepEqual(order, ['/a-stale', '/d-dead', '/b-hung', '/e-unknown', '/c-denied', '/a-healthy']);
});

test('a timeline: unwatched before start, healthy while watched, each incident from its first failed probe', () => {
  const v = view('/m', 'dead', { incidentId: 2, since: NOW - H });
  const history = [
    incident(1, '/m', NOW - 5 * H, NOW - 4 * H),
    incident(2, '/m', NOW - H, null),
    incident(3, '/other', NOW - 2 * H, null),
    incident(4, '/m', NOW - 30 * H, NOW - 25 * H), // before the window
  ];
  const segs = timeline(v, history, NOW, NOW - 10 * H).map((g) => [g.state, (g.from - NOW) / H, (g.to - NOW) / H]);
  assert.deepEqual(segs, [
    ['unwatched', -24, -10],
    ['healthy', -10, 0],
    ['dead', -5, -4],
    ['dead', -1, 0],
  ]);
});

test('a failure hysteresis has not confirmed yet still shows, from when it began', () => {
  const v = view('/m', 'hung', { since: NOW - 60_000 });
  const segs = timeline(v, [], NOW, NOW - 2 * HISTORY_MS).map((g) => [g.state, g.from - NOW, g.to - NOW]);
  assert.deepEqual(segs, [
    ['healthy', -HISTORY_MS, 0],
    ['hung', -60_000, 0],
  ]);
});

test('the page: bad rows first, a source column, a refresh of one interval, one inline SVG per mount', () => {
  const html = renderStatusPage({
    host: 'vm',
    now: NOW,
    startedAt: NOW - 2 * H,
    lastCycleAt: NOW,
    intervalMs: 5000,
    healPolicy: 'off',
    mounts: [view('/ok', 'healthy'), view('/gone', 'dead', { incidentId: 7 })],
    incidents: [],
    history: [incident(7, '/gone', NOW - H, null)],
    alertsQueued: 0,
    version: '0.1.0',
  });
  const rows = [...html.matchAll(/<tr data-mountpoint="([^"]+)">/g)].map((m) => m[1]);
  assert.deepEqual(rows, ['/gone', '/ok']);
  assert.match(html, /<th>Source<\/th>/);
  assert.match(html, /<td class="src">\/srv\/gone<\/td>/);
  assert.match(html, /<meta http-equiv="refresh" content="5">/);
  assert.equal([...html.matchAll(/<svg class="timeline"/g)].length, 2);
  const gone = html.slice(html.indexOf('data-mountpoint="/gone"'), html.indexOf('data-mountpoint="/ok"'));
  assert.deepEqual(
    [...gone.matchAll(/data-state="([a-z-]+)"><title>/g)].map((m) => m[1]),
    ['unwatched', 'healthy', 'dead'],
  );
  assert.match(gone, /<title>#7 dead \(daemon-gone\), open: 11:00–12:00 UTC<\/title>/);
  assert.doesNotMatch(html, /<script/);
});
