// The probe child: a dedicated process that the CLI or the watch daemon talks to over JSON lines
// on stdin/stdout. It can be abandoned: when a probe hangs, its worker thread stays blocked in the
// kernel, the child registers the stuck probe and keeps running until that probe returns, while
// the parent that started it exits or carries on. Probes never block the parent process.
import readline from 'node:readline';
import { Worker } from 'node:worker_threads';
import { probeWorkerTarget } from '../runtime/self.js';
import { clearStuck, processStartTicks, registerStuck } from './stuck-registry.js';
import type { WorkerReady, WorkerReply } from './probe-worker.js';

export interface ChildRequest {
  id: number;
  key: string;
  path: string;
  timeoutMs: number;
}
export type ChildReply =
  | { id: number; kind: 'result'; reply: WorkerReply }
  | { id: number; kind: 'hung'; timeoutMs: number }
  | { kind: 'unstuck'; key: string; latencyMs: number };

const runDir = process.env.ENOTCONN_PROBE_REGISTRY ?? '';
const maxWorkers = Math.max(1, Number(process.env.ENOTCONN_PROBE_WORKERS ?? '4'));
// Healthy probes take well under a millisecond, so two pre-started workers serve hundreds of
// mounts (each extra isolate costs ~50-100 ms of CPU to boot, which a 2-core host pays in wall
// time). A worker busy on one probe for longer than SLOW_MS, counted from when it was ready to
// probe (a cold worker's module loading is not a slow mount), is probably on a slow or hung mount:
// only then is another one started, up to the concurrency.
const SLOW_MS = 20;
const PREWARM = Math.min(Number(process.env.ENOTCONN_PROBE_PREWARM ?? '2') || 1, maxWorkers);
const workerTarget = probeWorkerTarget(() => new URL('./probe-worker.js', import.meta.url));
const myStart = processStartTicks('self') ?? '';

interface Slot {
  worker: Worker;
  busy: ChildRequest | null;
  stuck: boolean;
  ready: boolean; // its module has loaded; until then a queued probe is not slow, only waiting
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

const slots = new Set<Slot>();
const queue: ChildRequest[] = [];
let inputClosed = false;

// Replies are batched: every line produced in one turn of the event loop goes out in one write
// (200 healthy probes answer within a few ms of each other; one write each costs a syscall and a
// wake-up of the parent). A line is never held beyond the current turn.
let outBuf: string[] = [];
let flushScheduled = false;

function send(msg: ChildReply): void {
  outBuf.push(JSON.stringify(msg));
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flush);
}

function flush(): void {
  flushScheduled = false;
  if (outBuf.length === 0) return;
  const text = `${outBuf.join('\n')}\n`;
  outBuf = [];
  try {
    process.stdout.write(text);
  } catch {
    // the parent went away; stuck probes still finish and clear their registry entries
  }
}

function newSlot(): Slot {
  const worker = new Worker(workerTarget.target, {
    eval: workerTarget.eval,
    // Small heaps: a worker does two syscalls; a stuck one should cost little while it waits.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4, stackSizeMb: 1 },
  });
  const slot: Slot = { worker, busy: null, stuck: false, ready: false, startedAt: 0, timer: null };
  worker.on('message', (msg: WorkerReply | WorkerReady) => {
    if ('ready' in msg) {
      slot.ready = true;
      if (slot.busy) slot.startedAt = Date.now(); // its queued probe starts only now
      return;
    }
    onReply(slot, msg);
  });
  worker.on('error', () => onWorkerGone(slot));
  worker.on('exit', () => onWorkerGone(slot));
  slots.add(slot);
  return slot;
}

function onReply(slot: Slot, reply: WorkerReply): void {
  const req = slot.busy;
  if (slot.timer) clearTimeout(slot.timer);
  slot.timer = null;
  slot.busy = null;
  if (req && slot.stuck) {
    // The hung probe finally returned: forget it everywhere, and retire the worker.
    clearStuck(runDir, req.key);
    send({ kind: 'unstuck', key: req.key, latencyMs: reply.latencyMs });
    slots.delete(slot);
    void slot.worker.terminate();
  } else if (req) {
    send({ id: req.id, kind: 'result', reply });
  }
  pump();
}

function onWorkerGone(slot: Slot): void {
  if (!slots.has(slot)) return;
  slots.delete(slot);
  const req = slot.busy;
  if (req && !slot.stuck) {
    send({
      id: req.id,
      kind: 'result',
      reply: { id: req.id, ok: false, errno: 'EWORKER', syscall: 'statfs', latencyMs: 0 },
    });
  }
  if (req && slot.stuck) clearStuck(runDir, req.key);
  pump();
}

let repump: NodeJS.Timeout | null = null;

function pump(): void {
  const now = Date.now();
  while (queue.length > 0) {
    let slot: Slot | undefined;
    let active = 0;
    let busyBriefly = 0;
    for (const s of slots) {
      if (s.stuck) continue;
      active++;
      if (!s.busy && !slot) slot = s;
      if (s.busy && (!s.ready || now - s.startedAt < SLOW_MS)) busyBriefly++;
    }
    if (!slot) {
      if (active >= maxWorkers) break;
      if (busyBriefly > 0) {
        // A worker will be free in a moment; look again rather than start a new thread.
        repump ??= setTimeout(() => {
          repump = null;
          pump();
        }, SLOW_MS);
        break;
      }
      slot = newSlot();
    }
    start(slot, queue.shift()!);
  }
  maybeExit();
}

function start(slot: Slot, req: ChildRequest): void {
  slot.busy = req;
  slot.startedAt = Date.now();
  slot.timer = setTimeout(() => {
    // Timed out: the worker is stuck in the kernel. Leave it there (it cannot be interrupted),
    // register the stuck probe for other processes, and carry on with a fresh worker.
    slot.stuck = true;
    slot.timer = null;
    registerStuck(runDir, {
      key: req.key,
      path: req.path,
      pid: process.pid,
      pidStart: myStart,
      sinceMs: slot.startedAt,
    });
    send({ id: req.id, kind: 'hung', timeoutMs: req.timeoutMs });
    pump();
  }, req.timeoutMs);
  slot.worker.postMessage({ id: req.id, path: req.path });
}

function maybeExit(): void {
  if (!inputClosed || queue.length > 0) return;
  for (const s of slots) if (s.busy) return; // stay until every probe, stuck ones included, returns
  for (const s of slots) void s.worker.terminate();
  flush(); // stdout to a pipe is synchronous on Linux: nothing is lost by exiting now
  process.exit(0);
}

process.stdout.on('error', () => undefined);
for (let i = 0; i < PREWARM; i++) newSlot();
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  queue.push(JSON.parse(line) as ChildRequest);
  pump();
});
rl.on('close', () => {
  inputClosed = true;
  maybeExit();
});
