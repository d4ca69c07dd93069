import type { ProbeState } from '../host/types.js';

// Colour only on a TTY, and never when NO_COLOR is set (https://no-color.org).
export function useColour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, grey: 90, bold: 1 } as const;
export type Colour = keyof typeof CODES;

// Wrap text in an ANSI colour when `on`.
export function paint(text: string, colour: Colour, on: boolean): string {
  return on ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

const STATE_COLOUR: Record<ProbeState, Colour> = {
  healthy: 'green',
  dead: 'red',
  hung: 'magenta',
  stale: 'yellow',
  'io-error': 'red',
  denied: 'grey',
  unknown: 'yellow',
};

// A probe state, coloured for a terminal.
export function paintState(state: ProbeState, on: boolean): string {
  return paint(state, STATE_COLOUR[state], on);
}

// Show control characters in a path (a mountpoint may hold a newline) so a table row stays one line.
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f\\]/g, (c) =>
    c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

// Visible width, ignoring ANSI colour codes.
function width(s: string): number {
  // eslint-disable-next-line no-control-regex
  return [...s.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

// Render rows as a left-aligned table with a header.
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c))))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

// Format milliseconds for humans: 0.4ms, 12ms, 2.0s.
export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}
