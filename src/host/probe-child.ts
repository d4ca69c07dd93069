// The Node probe child: the fallback probe engine where the native helper could not be built. It
// speaks the helper's line protocol (probe-protocol.ts) on stdin/stdout: probes, and bounded reads
// of /proc files, each on a worker thread with its deadline. It can be abandoned: a
// probe that hangs leaves its worker thread blocked in the kernel while the child answers the
// others; the child keeps running until that probe returns, while its parent exits or carries on.
// A probe as another user goes to a child of this one started as that user (a per-uid process
// running this same file; nothing user-controlled is executed).
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { Worker } from 'node:worker_threads';
import { childArgv, probeWorkerTarget } from '../runtime/self.js';
import { claimProbe, releaseProbe } from './stuck-registry.js';
import { parseProbeLine, parseReadLine, probeLine, type ProbeRequest, type ReadRequest } from './probe-protocol.js';
import type { WorkerReadReply, WorkerReady, WorkerReply } from './probe-worker.js';

const runDir = process.env.ENOTCONN_PROBE_REGISTRY ?? '';
const maxWorkers = Math.max(1, Number(process.env.ENOTCONN_PROBE_WORKERS ?? '4'));
// Healthy probes take well under a millisecond, so two pre-started workers serve hundreds of
// mounts (each extra isolate costs ~50-100 ms of CPU to boot, which a 2-core host pays in wall
// time). A worker busy on one probe for longer than SLOW_MS, counted from when it was ready to
// probe (a cold worker's module loading is not a slow mount), is probably on a slow or hung mount:
// only then is another one started, up to the concurrency.
const SLOW_MS = 20;
// Workers busy on slow or hung mounts do not count against the concurrency (so hung mounts never
// hold up the healthy ones queued behind them), up to this many worker threads in all.
const MAX_THREADS = Math.max(64, maxWorkers);
const PREWARM = Math.min(Number(process.env.ENOTCONN_PROBE_PREWARM ?? '2') || 1, maxWorkers);
const workerTarget = probeWorkerTarget(() => new URL('./probe-worker.js', import.meta.url));
const myUid = process.getuid?.() ?? 0;

// A probe, or a bounded read of a /proc file (which can block as long as a probe can).
type Job = { kind: 'probe'; req: ProbeRequest } | { kind: 'read'; req: ReadRequest };

interface Slot {
  worker: Worker;
  busy: Job | null;
  stuck: boolean;
  ready: boolean; // its module has loaded; until then a queued probe is not slow, only waiting
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

const slots = new Set<Slot>();
const queue: Job[] = [];
let inputClosed = false;

// Replies are batched: every line produced in one turn of the event loop goes out in one write
// (200 healthy probes answer within a few ms of each other; one write each costs a syscall and a
// wake-up of the parent). A line is never held beyond the current turn.
let outBuf: string[] = [];
let flushScheduled = false;

function send(line: string): void {
  outBuf.push(line);
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

function replyLine(id: number, r: WorkerReply): string {
  const us = Math.round(r.latencyMs * 1000);
  return r.ok ? `P ${id} ok ${us}` : `P ${id} err ${r.errno} ${r.syscall === 'lstat' ? 'l' : 's'} ${us}`;
}

function newSlot(): Slot {
  const worker = new Worker(workerTarget.target, {
    eval: workerTarget.eval,
    // Small heaps: a worker does two syscalls; a stuck one should cost little while it waits.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4, stackSizeMb: 1 },
  });
  const slot: Slot = { worker, busy: null, stuck: false, ready: false, startedAt: 0, timer: null };
  worker.on('message', (msg: WorkerReply | WorkerReadReply | WorkerReady) => {
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

function onReply(slot: Slot, reply: WorkerReply | WorkerReadReply): void {
  const job = slot.busy;
  if (slot.timer) clearTimeout(slot.timer);
  slot.timer = null;
  slot.busy = null;
  if (job?.kind === 'probe') releaseProbe(runDir, job.req.hash);
  if (job && slot.stuck) {
    // The hung probe (or read) finally returned: say so, and retire the worker.
    if (job.kind === 'probe' && job.req.hash !== '-' && !('read' in reply)) {
      send(`U ${job.req.hash} ${Math.round(reply.latencyMs * 1000)}`);
    }
    slots.delete(slot);
    void slot.worker.terminate();
  } else if (job?.kind === 'read' && 'read' in reply) {
    send('hex' in reply ? `D ${job.req.id} ok ${reply.hex}` : `D ${job.req.id} err ${reply.errno}`);
  } else if (job?.kind === 'probe' && !('read' in reply)) {
    send(replyLine(job.req.id, reply));
  }
  pump();
}

function onWorkerGone(slot: Slot): void {
  if (!slots.has(slot)) return;
  slots.delete(slot);
  const job = slot.busy;
  if (job?.kind === 'probe') releaseProbe(runDir, job.req.hash);
  // EIO: the worker died under the probe or read.
  if (job && !slot.stuck) send(job.kind === 'probe' ? `P ${job.req.id} err 5 s 0` : `D ${job.req.id} err 5`);
  pump();
}

let repump: NodeJS.Timeout | null = null;

function pump(): void {
  const now = Date.now();
  while (queue.length > 0) {
    let slot: Slot | undefined;
    let busyBriefly = 0; // ready workers on a probe younger than SLOW_MS: free in a moment
    let slow = 0; // workers on a slow or hung probe (stuck ones included)
    let booting = 0; // workers still loading their module
    for (const s of slots) {
      if (!s.stuck && !s.busy && !slot) slot = s;
      if (!s.ready) booting++;
      else if (s.stuck || (s.busy && now - s.startedAt >= SLOW_MS)) slow++;
      else if (s.busy) busyBriefly++;
    }
    if (!slot) {
      if (slots.size >= MAX_THREADS) break; // a reply or a timeout calls pump() again
      // Hung mounts come in runs (one dead server, one stopped daemon: its mounts sit together in
      // the table), and a new worker takes ~25 ms of CPU to boot. Started one at a time, 25 hung
      // mounts in a row kept the healthy ones behind them waiting past the deadline. So the pool
      // doubles: as many workers boot as are slow, and they boot side by side.
      const want = Math.min(queue.length, MAX_THREADS - slots.size, Math.max(1, slow) - booting);
      if (busyBriefly > 0 || want <= 0) {
        // A worker will be free in a moment, or enough are booting: look again soon.
        repump ??= setTimeout(() => {
          repump = null;
          pump();
        }, SLOW_MS);
        break;
      }
      for (let i = 0; i < want && queue.length > 0; i++) {
        const fresh = newSlot();
        while (queue.length > 0 && !claimAndStart(fresh, queue.shift()!)) {
          // held elsewhere: answered; the fresh worker takes the next one
        }
      }
      continue;
    }
    claimAndStart(slot, queue.shift()!);
  }
  maybeExit();
}

// A probe is claimed when it starts, so no other enotconn process starts a second probe of this
// mount. False when another process holds it (answered `B`, and the slot stays free).
function claimAndStart(slot: Slot, job: Job): boolean {
  const held = job.kind === 'probe' ? claimProbe(runDir, job.req.hash) : null;
  if (held !== null) {
    send(`B ${job.req.id} ${held.sinceMs}`);
    return false;
  }
  start(slot, job);
  return true;
}

function start(slot: Slot, job: Job): void {
  const req = job.req;
  slot.busy = job;
  slot.startedAt = Date.now();
  slot.timer = setTimeout(() => {
    // Timed out: the worker is stuck in the kernel. Leave it there (it cannot be interrupted),
    // keep the registry entry until it returns, and carry on with a fresh worker.
    slot.stuck = true;
    slot.timer = null;
    send(job.kind === 'probe' ? `H ${req.id}` : `D ${req.id} hung`);
    pump();
  }, req.timeoutMs);
  slot.worker.postMessage(
    job.kind === 'probe'
      ? { id: req.id, path: req.path }
      : job.req.link
        ? { id: req.id, path: req.path, link: true }
        : { id: req.id, path: req.path, read: job.req.maxBytes },
  );
}

// Probes as another user: one child per uid, started as that uid and gid, with no registry of its
// own (this process claims the mount and keeps the deadline, so the child never times out itself).
interface AsUser {
  child: ChildProcess;
  pending: Map<number, { req: ProbeRequest; timer: NodeJS.Timeout; late: boolean }>;
}
const asUsers = new Map<string, AsUser>();

function asUser(uid: number, gid: number): AsUser {
  const k = `${uid}:${gid}`;
  const have = asUsers.get(k);
  if (have) return have;
  const [exe, ...args] = childArgv('probe-child', () => new URL(import.meta.url));
  const child = spawn(exe!, args, {
    uid,
    gid, // libuv drops the supplementary groups (setgroups(0)) before setgid/setuid
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ENOTCONN_PROBE_WORKERS: String(maxWorkers), ENOTCONN_PROBE_PREWARM: '1' },
    cwd: '/',
  });
  const u: AsUser = { child, pending: new Map() };
  asUsers.set(k, u);
  child.stdin?.on('error', () => undefined);
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const f = line.split(' ');
    const p = u.pending.get(Number(f[1]));
    if (!p || (f[0] !== 'P' && f[0] !== 'H')) return;
    if (f[0] === 'H') return; // our own timer answers for the deadline
    u.pending.delete(p.req.id);
    clearTimeout(p.timer);
    releaseProbe(runDir, p.req.hash);
    if (p.late) {
      if (p.req.hash !== '-') send(`U ${p.req.hash} ${f[f.length - 1]}`);
    } else {
      send(line);
    }
    maybeExit();
  });
  child.on('exit', () => {
    asUsers.delete(k);
    for (const p of u.pending.values()) {
      clearTimeout(p.timer);
      releaseProbe(runDir, p.req.hash);
      if (!p.late) send(`P ${p.req.id} err 10 s 0`); // ECHILD: the per-user child is gone
    }
    u.pending.clear();
    maybeExit();
  });
  return u;
}

function startAsUser(req: ProbeRequest): void {
  const held = claimProbe(runDir, req.hash);
  if (held !== null) {
    send(`B ${req.id} ${held.sinceMs}`);
    return;
  }
  const u = asUser(req.uid, req.gid);
  const entry = {
    req,
    late: false,
    timer: setTimeout(() => {
      entry.late = true;
      send(`H ${req.id}`);
    }, req.timeoutMs),
  };
  u.pending.set(req.id, entry);
  u.child.stdin?.write(`${probeLine({ ...req, uid: -1, gid: -1, hash: '-', timeoutMs: 86_400_000 })}\n`);
}

function maybeExit(): void {
  if (!inputClosed || queue.length > 0) return;
  for (const s of slots) if (s.busy) return; // stay until every probe, stuck ones included, returns
  for (const u of asUsers.values()) if (u.pending.size > 0) return;
  for (const s of slots) void s.worker.terminate();
  for (const u of asUsers.values()) u.child.stdin?.end();
  flush(); // stdout to a pipe is synchronous on Linux: nothing is lost by exiting now
  process.exit(0);
}

process.stdout.on('error', () => undefined);
for (let i = 0; i < PREWARM; i++) newSlot();
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  if (line.startsWith('R ') || line.startsWith('L ')) {
    // A bounded read or readlink, as this child's own user: on a worker thread, with its deadline.
    const r = parseReadLine(line);
    if (r) queue.push({ kind: 'read', req: r });
    else send(`E ${line.split(' ')[1] ?? '-1'} malformed request`);
    pump();
    return;
  }
  const req = parseProbeLine(line);
  if (!req || (req.uid >= 0 && req.gid < 0)) {
    send(`E ${line.split(' ')[1] ?? '-1'} malformed request`);
    return;
  }
  if (req.uid >= 0 && req.uid !== myUid) startAsUser(req);
  else {
    queue.push({ kind: 'probe', req });
    pump();
  }
});
rl.on('close', () => {
  inputClosed = true;
  maybeExit();
});
