import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  eventsForDaemon,
  parseKmsgRecord,
  recogniseKernelLine,
  unansweredServers,
  type KernelEvent,
} from '../../../src/mounts/evidence/kmsg.js';
import { REPO } from '../../helpers/live.js';

function recognise(line: string, bootMs: number | null = 0): KernelEvent | null {
  const rec = parseKmsgRecord(line);
  assert.ok(rec, `parses: ${line}`);
  return recogniseKernelLine(rec, bootMs);
}

test('parses a /dev/kmsg record and ignores continuation lines', () => {
  assert.deepEqual(parseKmsgRecord('6,339,1403731,-;random: crng reseeded'), {
    priority: 6,
    seq: 339,
    usec: 1403731,
    message: 'random: crng reseeded',
  });
  assert.equal(parseKmsgRecord(' SUBSYSTEM=memory'), null);
});

test('recognises both lines of a memory-cgroup OOM kill recorded on this machine, with wall-clock time', () => {
  const lines = fs.readFileSync(path.join(REPO, 'test/fixtures/kmsg/memcg-oom-rclone.txt'), 'utf8').trim().split('\n');
  const boot = Date.parse('2026-11-21T09:00:00.000Z');
  const [summary, killed] = lines.map((l) => recognise(l, boot));
  assert.equal(summary?.kind, 'oom-kill');
  assert.equal(summary?.comm, 'rclone');
  assert.equal(killed?.kind, 'oom-kill');
  assert.equal(killed?.comm, 'rclone');
  assert.equal(killed?.pid, summary?.pid);
  const usec = Number(lines[1]!.split(',')[2]);
  assert.equal(killed?.at, new Date(boot + Math.round(usec / 1000)).toISOString());
});

test('recognises a global OOM kill, NFS, CIFS, hung-task and segfault lines', () => {
  assert.deepEqual(
    [
      '3,1,5,-;Out of memory: Killed process 2362 (sshfs) total-vm:10kB, anon-rss:1kB',
      '4,2,5,-;nfs: server 10.0.0.5 not responding, timed out',
      '4,3,5,-;nfs: server 10.0.0.5 OK',
      '3,4,5,-;CIFS: VFS: \\\\srv has not responded in 180 seconds. Reconnecting...',
      '3,5,5,-;INFO: task cat:4242 blocked for more than 122 seconds.',
      '6,6,5,-;sshfs[777]: segfault at 0 ip 00007f sp 00007ffd error 4 in libc.so.6[7f+1000]',
    ].map((l) => {
      const e = recognise(l)!;
      return [e.kind, e.pid ?? null, e.comm ?? null, e.server ?? null];
    }),
    [
      ['oom-kill', 2362, 'sshfs', null],
      ['nfs-not-responding', null, null, '10.0.0.5'],
      ['nfs-ok', null, null, '10.0.0.5'],
      ['cifs-not-responding', null, null, 'srv'],
      ['hung-task', 4242, 'cat', null],
      ['segfault', 777, 'sshfs', null],
    ],
  );
  assert.equal(recognise('6,7,5,-;EXT4-fs (vda): mounted filesystem'), null);
});

test('an NFS "OK" cancels the earlier "not responding" for that server only', () => {
  const events = [
    '4,1,1,-;nfs: server a not responding, still trying',
    '4,2,2,-;nfs: server b not responding, still trying',
    '4,3,3,-;nfs: server a OK',
  ].map((l) => recognise(l)!);
  assert.deepEqual([...unansweredServers(events).keys()], ['b']);
});

test('matches kill lines to a daemon by pid first, else by comm after it was recorded', () => {
  const events = [
    '3,1,1000000,-;Out of memory: Killed process 10 (rclone) total-vm:1kB',
    '3,2,2000000,-;Out of memory: Killed process 20 (rclone) total-vm:1kB',
    '3,3,3000000,-;Out of memory: Killed process 30 (sshfs) total-vm:1kB',
  ].map((l) => recognise(l, 0)!);
  assert.deepEqual(
    eventsForDaemon(events, { pid: 20, names: ['rclone'] }).map((m) => [m.event.pid, m.by]),
    [[20, 'pid']],
  );
  assert.deepEqual(
    eventsForDaemon(events, { pid: null, names: ['/usr/bin/rclone'], sinceMs: 1500 }).map((m) => [m.event.pid, m.by]),
    [[20, 'comm']],
  );
});
