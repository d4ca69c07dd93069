// The status page at `/`: server-rendered HTML, no front-end framework, no script. Mounts that need
// attention come first; each has a 24 h timeline (inline SVG) drawn from the SQLite incident
// history. It reads the cached state and the store only, and refreshes itself every interval.
import type { MountView, WatchedState } from './state.js';
import type { IncidentRow } from './store.js';

// How far back each mount's timeline reaches.
export const HISTORY_MS = 24 * 3_600_000;

export interface StatusPageInput {
  host: string;
  now: number;
  startedAt: number;
  lastCycleAt: number | null;
  intervalMs: number;
  healPolicy: string;
  mounts: MountView[];
  incidents: IncidentRow[];
  // Incidents open at any time in the last HISTORY_MS (oldest first); `incidents` when absent.
  history?: IncidentRow[];
  alertsQueued: number;
  version: string;
}

// HTML-escape text for element content and attribute values.
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

// "1.2 s", "340 ms", "3 min".
export function formatDuration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function iso(ms: number | null): string {
  return ms === null
    ? '–'
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

function stateCell(v: MountView): string {
  const s = v.healing ? `${v.state}, healing` : v.state;
  return `<td class="state ${escapeHtml(v.state)}" data-state="${escapeHtml(v.state)}">${escapeHtml(s)}${
    v.errno ? ` <small>${escapeHtml(v.errno)}</small>` : ''
  }</td>`;
}

// Display order: what needs attention first (failing, then hung, then unclear), healthy and
// denied (not a fault in itself) last; by mountpoint within a rank.
const RANK: Record<WatchedState, number> = {
  dead: 0,
  'io-error': 0,
  stale: 0,
  absent: 0,
  hung: 1,
  unknown: 2,
  denied: 3,
  healthy: 4,
};

// The mounts in display order.
export function sortMounts(mounts: readonly MountView[]): MountView[] {
  return [...mounts].sort(
    (a, b) =>
      RANK[a.state] - RANK[b.state] ||
      Number(b.breakerOpen) - Number(a.breakerOpen) ||
      (a.mountpoint < b.mountpoint ? -1 : a.mountpoint > b.mountpoint ? 1 : 0),
  );
}

// One stretch of a timeline: [from, to) in ms, in one state.
export interface Segment {
  from: number;
  to: number;
  state: string; // a mount state, or 'unwatched' before watch started
  label: string;
}

// The mount's last HISTORY_MS: unwatched before this process started, healthy while watched, and
// each incident (from its first failed probe) and the current failure on top.
export function timeline(v: MountView, history: readonly IncidentRow[], now: number, startedAt: number): Segment[] {
  const from = now - HISTORY_MS;
  const watchedFrom = Math.max(from, Math.min(startedAt, now));
  const base: Segment[] = [];
  if (watchedFrom > from) base.push({ from, to: watchedFrom, state: 'unwatched', label: 'not watched' });
  base.push({ from: watchedFrom, to: now, state: 'healthy', label: 'healthy' });
  const faults: Segment[] = history
    .filter((i) => i.mountpoint === v.mountpoint)
    .map((i) => ({
      from: Math.max(from, i.firstSeenAt),
      to: Math.min(now, i.closedAt ?? now),
      state: i.state,
      label: `#${i.id} ${i.state}${i.cause ? ` (${i.cause})` : ''}${i.closedAt !== null ? `, ${i.resolution ?? 'closed'}` : ', open'}`,
    }))
    .filter((g) => g.to > g.from);
  // A failure not yet confirmed as an incident (hysteresis) still shows from when it began.
  if (RANK[v.state] < 3 && v.incidentId === null && v.since < now) {
    faults.push({ from: Math.max(from, v.since), to: now, state: v.state, label: `${v.state} (now)` });
  }
  return [...base, ...faults];
}

const SEGMENT_COLOUR: Record<string, string> = {
  healthy: '#2da44e',
  unwatched: '#d0d7de',
  hung: '#d4790b',
  unknown: '#8c959f',
  denied: '#8c959f',
};

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

// The timeline as inline SVG: one minute per unit across 24 h, a <title> on each stretch.
export function timelineSvg(segments: readonly Segment[], now: number): string {
  const from = now - HISTORY_MS;
  const x = (t: number): number => Math.round(((t - from) / HISTORY_MS) * 1440 * 10) / 10;
  const rects = segments
    .map((g) => {
      const colour = SEGMENT_COLOUR[g.state] ?? '#cf222e';
      const title = `${g.label}: ${hhmm(g.from)}–${hhmm(g.to)} UTC`;
      return `<rect x="${x(g.from)}" width="${Math.max(1, x(g.to) - x(g.from))}" height="12" fill="${colour}" data-state="${escapeHtml(g.state)}"><title>${escapeHtml(title)}</title></rect>`;
    })
    .join('');
  return `<svg class="timeline" viewBox="0 0 1440 12" width="240" height="14" preserveAspectRatio="none" role="img" aria-label="state over the last 24 hours">${rects}</svg>`;
}

// The whole page.
export function renderStatusPage(p: StatusPageInput): string {
  const bad = p.mounts.filter((m) => m.state !== 'healthy' && m.state !== 'denied').length;
  const history = p.history ?? p.incidents;
  const refreshS = Math.max(2, Math.min(60, Math.round(p.intervalMs / 1000)));
  const mountRows = sortMounts(p.mounts)
    .map(
      (v) => `<tr data-mountpoint="${escapeHtml(v.mountpoint)}">
  <td class="mp">${escapeHtml(v.mountpoint)}</td>
  <td class="src">${escapeHtml(v.source)}</td>
  <td>${escapeHtml(v.fstype)}</td>
  <td>${escapeHtml(v.backend ?? '–')}</td>
  <td>${v.managed !== null ? `managed: ${escapeHtml(v.managed)}` : 'observed'}</td>
  ${stateCell(v)}
  <td>${escapeHtml(formatDuration(p.now - v.since))}</td>
  <td>${escapeHtml(v.latencyMs === null ? '–' : `${v.latencyMs.toFixed(1)} ms`)}</td>
  <td>${v.heals}${v.breakerOpen ? ' <strong class="flapping">flapping: healing stopped</strong>' : ''}</td>
  <td>${escapeHtml(v.incidentId !== null ? `#${v.incidentId}${v.cause ? ` ${v.cause}` : ''}` : '–')}</td>
  <td class="tl">${timelineSvg(timeline(v, history, p.now, p.startedAt), p.now)}</td>
</tr>`,
    )
    .join('\n');
  const incidentRows = p.incidents
    .map(
      (i) => `<tr data-incident="${i.id}">
  <td>#${i.id}</td>
  <td class="mp">${escapeHtml(i.mountpoint)}</td>
  <td>${escapeHtml(i.state)}${i.errno ? ` <small>${escapeHtml(i.errno)}</small>` : ''}</td>
  <td>${escapeHtml(i.cause ?? '–')}${i.causeSummary ? `<br><small>${escapeHtml(i.causeSummary)}</small>` : ''}</td>
  <td>${escapeHtml(iso(i.openedAt))}</td>
  <td>${i.closedAt === null ? '<strong>open</strong>' : escapeHtml(`${iso(i.closedAt)} (${i.resolution ?? '?'})`)}</td>
  <td class="tth">${escapeHtml(formatDuration(i.timeToHealMs))}</td>
</tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${refreshS}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>enotconn watch: ${escapeHtml(p.host)}${bad > 0 ? ` (${bad} down)` : ''}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d232a; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.meta { color: #5b6570; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6e9; vertical-align: top; }
th { background: #f4f6f8; font-weight: 600; }
.mp, .src { font-family: ui-monospace, monospace; }
.src { color: #5b6570; max-width: 22rem; overflow-wrap: anywhere; }
.timeline { display: block; border: 1px solid #e3e6e9; }
.legend span { display: inline-block; width: .8em; height: .8em; margin: 0 .2em 0 .8em; vertical-align: middle; }
.state { font-weight: 600; }
.healthy { color: #17803d; } .dead, .absent, .stale, .io-error { color: #c0262d; } .hung { color: #b35c00; }
.denied, .unknown { color: #5b6570; }
.flapping { color: #c0262d; }
.summary { font-size: 1.05rem; margin: .6rem 0; }
</style>
</head>
<body>
<h1>enotconn watch on ${escapeHtml(p.host)}</h1>
<p class="meta">up since ${escapeHtml(iso(p.startedAt))} · last probe cycle ${escapeHtml(iso(p.lastCycleAt))} · every ${escapeHtml(
    formatDuration(p.intervalMs),
  )} · heal policy <strong>${escapeHtml(p.healPolicy)}</strong> · alerts queued ${p.alertsQueued} · enotconn ${escapeHtml(p.version)}</p>
<p class="summary" id="summary">${p.mounts.length} mounts: ${p.mounts.length - bad} healthy, ${bad} need attention</p>
<h2>Mounts</h2>
<table id="mounts">
<thead><tr><th>Mountpoint</th><th>Source</th><th>Type</th><th>Backend</th><th>Kind</th><th>State</th><th>For</th><th>Probe</th><th>Heals</th><th>Incident</th><th>Last 24 h</th></tr></thead>
<tbody>
${mountRows || '<tr><td colspan="11">No network or FUSE mounts are watched.</td></tr>'}
</tbody>
</table>
<p class="meta legend">Last 24 h:<span style="background:#2da44e"></span>healthy<span style="background:#cf222e"></span>dead, stale, I/O error<span style="background:#d4790b"></span>hung<span style="background:#d0d7de"></span>not watched · refreshes every ${refreshS} s</p>
<h2>Last incidents</h2>
<table id="incidents">
<thead><tr><th>#</th><th>Mountpoint</th><th>State</th><th>Cause</th><th>Opened</th><th>Closed</th><th>Time to heal</th></tr></thead>
<tbody>
${incidentRows || '<tr><td colspan="7">No incidents recorded.</td></tr>'}
</tbody>
</table>
<p class="meta">JSON: <a href="/api/mounts">/api/mounts</a> · <a href="/api/incidents">/api/incidents</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></p>
</body>
</html>
`;
}
