// The status page at `/` (issue 4 "HTTP"): server-rendered HTML, no front-end framework, no script.
// It reads the cached state and the incident history only.
import type { MountView } from './state.js';
import type { IncidentRow } from './store.js';

export interface StatusPageInput {
  host: string;
  now: number;
  startedAt: number;
  lastCycleAt: number | null;
  intervalMs: number;
  healPolicy: string;
  mounts: MountView[];
  incidents: IncidentRow[];
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

// The whole page.
export function renderStatusPage(p: StatusPageInput): string {
  const bad = p.mounts.filter((m) => m.state !== 'healthy' && m.state !== 'denied').length;
  const mountRows = p.mounts
    .map(
      (v) => `<tr data-mountpoint="${escapeHtml(v.mountpoint)}">
  <td class="mp">${escapeHtml(v.mountpoint)}</td>
  <td>${escapeHtml(v.fstype)}</td>
  <td>${escapeHtml(v.backend ?? '–')}</td>
  <td>${v.managed !== null ? `managed: ${escapeHtml(v.managed)}` : 'observed'}</td>
  ${stateCell(v)}
  <td>${escapeHtml(formatDuration(p.now - v.since))}</td>
  <td>${escapeHtml(v.latencyMs === null ? '–' : `${v.latencyMs.toFixed(1)} ms`)}</td>
  <td>${v.heals}${v.breakerOpen ? ' <strong class="flapping">flapping: healing stopped</strong>' : ''}</td>
  <td>${escapeHtml(v.incidentId !== null ? `#${v.incidentId}${v.cause ? ` ${v.cause}` : ''}` : '–')}</td>
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
<meta http-equiv="refresh" content="5">
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
.mp { font-family: ui-monospace, monospace; }
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
<thead><tr><th>Mountpoint</th><th>Type</th><th>Backend</th><th>Kind</th><th>State</th><th>For</th><th>Probe</th><th>Heals</th><th>Incident</th></tr></thead>
<tbody>
${mountRows || '<tr><td colspan="9">No network or FUSE mounts are watched.</td></tr>'}
</tbody>
</table>
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
