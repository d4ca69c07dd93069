// Runs inside a worker thread of the probe child. Each probe is two synchronous syscalls on this
// thread's own stack, so a hung mount blocks only this thread: never the main thread, never a
// libuv threadpool thread (a hung statfs there starves every fs call; libuv#3449, node_exporter#244).
import fs from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';

const ENOENT = 2;
const EIO = 5;

export interface WorkerRequest {
  id: number;
  path: string;
}
// Sent once, when this module has loaded: from then on the worker answers a probe at once.
export interface WorkerReady {
  ready: true;
}
export type WorkerReply =
  | { id: number; ok: true; latencyMs: number }
  | { id: number; ok: false; errno: number; syscall: 'statfs' | 'lstat'; latencyMs: number };

function probeOnce(req: WorkerRequest): WorkerReply {
  const t0 = performance.now();
  const ms = (): number => Math.round((performance.now() - t0) * 1000) / 1000;
  try {
    // statfs reaches the daemon (FUSE_STATFS / NFS FSSTAT) rather than the dentry cache.
    fs.statfsSync(req.path);
  } catch (e) {
    return { id: req.id, ok: false, errno: code(e), syscall: 'statfs', latencyMs: ms() };
  }
  try {
    // A random name defeats positive and negative dentry caching: the lookup must go to the
    // backend. ENOENT is the healthy answer. (Why not stat the root: its attributes are cached.)
    fs.lstatSync(path.join(req.path, `.enotconn-probe-${randomName()}`));
  } catch (e) {
    const c = code(e);
    if (c !== ENOENT) return { id: req.id, ok: false, errno: c, syscall: 'lstat', latencyMs: ms() };
  }
  return { id: req.id, ok: true, latencyMs: ms() };
}

// Not a secret, only unpredictable enough to miss every cached dentry; node:crypto would cost each
// worker isolate ~15 ms of start-up (it is loaded per isolate).
let counter = 0;
function randomName(): string {
  counter = (counter + 1) % 0x10000;
  return `${Math.floor(Math.random() * 0x100000000).toString(16)}${counter.toString(16).padStart(4, '0')}`;
}

// The errno NUMBER: libuv has no name for some (ESTALE 116 reads "Unknown system error -116"),
// so the engine reports numbers and the runner names and classifies them.
function code(e: unknown): number {
  const n = (e as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' && n !== 0 ? Math.abs(n) : EIO;
}

parentPort?.on('message', (req: WorkerRequest) => {
  parentPort?.postMessage(probeOnce(req));
});
parentPort?.postMessage({ ready: true } satisfies WorkerReady);
