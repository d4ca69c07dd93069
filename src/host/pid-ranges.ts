// How a process table is split for reading in parts: pid ranges (after, last], one helper request
// (and thread) each, so the walk of /proc runs on every core. A small table is one range: a
// request is cheaper than its share of a walk.
import os from 'node:os';

// At most this many parts, of at least PART_MIN processes each.
const PARTS = Math.max(1, Math.min(4, os.availableParallelism()));
const PART_MIN = 400;

// A range of pids: above `after`, and at most `last` (null: no bound).
export type PidRange = readonly [after: number, last: number | null];

// The ranges for a table of these pids (any order).
export function pidRanges(pids: readonly number[]): PidRange[] {
  const sorted = [...pids].sort((a, b) => a - b);
  const parts = Math.min(PARTS, Math.floor(sorted.length / PART_MIN));
  if (parts <= 1) return [[0, null]];
  const out: PidRange[] = [];
  let after = 0;
  for (let i = 1; i < parts; i++) {
    const last = sorted[Math.floor((sorted.length * i) / parts) - 1]!;
    out.push([after, last]);
    after = last;
  }
  out.push([after, null]);
  return out;
}
