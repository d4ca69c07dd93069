// A process table read in parts: the pid ranges cover every pid exactly once, and a small table is
// one request.
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { pidRanges, type PidRange } from '../../../src/host/pid-ranges.js';

function inRange(pid: number, [after, last]: PidRange): boolean {
  return pid > after && (last === null || pid <= last);
}

test('a small process table is read in one request', () => {
  assert.deepEqual(pidRanges([]), [[0, null]]);
  assert.deepEqual(pidRanges([1, 2, 3, 700]), [[0, null]]);
});

test('a large process table is split into ranges that hold every pid exactly once', () => {
  const pids = Array.from({ length: 2065 }, (_, i) => 1 + i * 7).reverse(); // any order
  const ranges = pidRanges(pids);
  const parts = Math.min(4, os.availableParallelism(), Math.floor(pids.length / 400));
  assert.equal(ranges.length, Math.max(1, parts));
  assert.equal(ranges.at(-1)![1], null, 'the last range is open-ended (pids born during the read)');
  for (const pid of pids) {
    assert.equal(ranges.filter((r) => inRange(pid, r)).length, 1, `pid ${pid} in exactly one range`);
  }
  for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i]![0], ranges[i - 1]![1], 'ranges are contiguous');
});
