// Durations as Go's time.ParseDuration and Prometheus write them: a unit is required, components
// may be compound (`1m30s`, `1h2m3.5s`), and every setting has bounds. The result is milliseconds.
import { EnotconnError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

// Why 2^31-1: Node's setTimeout stores the delay in a signed 32-bit int; a larger one fires after
// 1 ms with a TimeoutOverflowWarning, so a 999999m probe timeout would report a healthy mount hung.
export const MAX_TIMER_MS = 2 ** 31 - 1;

// The default upper bound when a caller names none: DESIGN section 2 refuses a probe timeout above 10 minutes.
export const DEFAULT_MAX_MS = 10 * 60_000;

export interface DurationBounds {
  min?: number; // ms, inclusive; default 1
  max?: number; // ms, inclusive; default 10 minutes, never above MAX_TIMER_MS
}

// Check a duration; a reason instead of an exception, so config errors get file:line and flags their name.
export function checkDuration(text: string, bounds: DurationBounds = {}): { ms: number } | { error: string } {
  const s = text.trim();
  if (/^[+-]?\d+(\.\d+)?$/.test(s)) {
    return { error: `a unit is required, such as ${s}s or ${s}ms` };
  }
  const re = /(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)/y;
  let total = 0;
  let at = 0;
  const seen = new Set<string>();
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) {
      return { error: 'use a number and a unit (ms, s, m, h), such as 500ms, 2s or 1m30s' };
    }
    if (seen.has(m[2]!)) return { error: `the unit ${m[2]} appears twice` };
    seen.add(m[2]!);
    total += Number(m[1]) * UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (s.length === 0) return { error: 'it is empty: use a number and a unit, such as 2s' };
  const ms = Math.round(total);
  const min = bounds.min ?? 1;
  const max = Math.min(bounds.max ?? DEFAULT_MAX_MS, MAX_TIMER_MS);
  if (!Number.isFinite(ms) || ms > max) return { error: `above the limit of ${formatDuration(max)}` };
  if (ms < min) {
    return { error: min <= 1 ? 'it must be greater than zero' : `below the minimum of ${formatDuration(min)}` };
  }
  return { ms };
}

// Parse a duration for `what` (a flag such as --timeout); a bad one is ENC_USAGE naming it.
export function parseDuration(text: string, what = 'duration', bounds: DurationBounds = {}): number {
  const r = checkDuration(text, bounds);
  if ('error' in r) throw new EnotconnError('ENC_USAGE', `invalid ${what} '${text}': ${r.error}`);
  return r.ms;
}

// Milliseconds written back the way the parser reads them: 90000 → `1m30s`, 1500 → `1.5s`.
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  let out = '';
  for (const [u, n] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  if (rest > 0) out += `${rest / 1000}s`;
  return out;
}
