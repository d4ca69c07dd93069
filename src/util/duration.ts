import { EnotconnError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

// Parse `500ms`, `2s`, `1.5s`, `1m` or a bare number of milliseconds into milliseconds.
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) {
    throw new EnotconnError(
      'ENC_USAGE',
      `invalid ${what} '${text}': use a number with ms, s or m, such as 500ms, 2s or 1m`,
    );
  }
  const value = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  if (!Number.isFinite(value) || value <= 0) {
    throw new EnotconnError('ENC_USAGE', `invalid ${what} '${text}': it must be greater than zero`);
  }
  return Math.round(value);
}

// Format milliseconds the way a duration flag takes them: 1000 -> "1s", 1500 -> "1500ms", 90000 -> "1m30s".
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0 || ms === 0) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
}
