// Runs inside a worker thread of the probe child. Each probe is two synchronous syscalls on this
// thread's own stack, so a hung mount blocks only this thread: never the main thread, never a
// libuv threadpool thread (a hung statfs there starves every fs call; libuv#3449, node_exporter#244).
// A bounded read of a /proc file is served the same way, for the same reason.
import fs from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';

const ENOENT = 2;
const EIO = 5;

export interface WorkerRequest {
  id: number;
  path: string;
  read?: number; // a bounded read of at most this many bytes, instead of a probe
  link?: boolean; // a readlink, instead of a probe
}
// Sent once, when this module has loaded: from then on the worker answers a probe at once.
export interface WorkerReady {
  ready: true;
}
export type WorkerReply =
  | { id: number; ok: true; latencyMs: number }
  | { id: number; ok: false; errno: number; syscall: 'statfs' | 'lstat'; latencyMs: number };
// The answer of a bounded read: the bytes read (hex), or the errno when nothing could be read.
export type WorkerReadReply = { id: number; read: true; hex: string } | { id: number; read: true; errno: number };

// At most `max` bytes of a /proc or /sys file, as the native helper reads them (O_NOFOLLOW, read
// until EOF): /proc files report size 0, so the buffer grows as the file does.
function readOnce(req: WorkerRequest & { read: number }): WorkerReadReply {
  let fd: number;
  try {
    fd = fs.openSync(req.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NOCTTY);
  } catch (e) {
    return { id: req.id, read: true, errno: code(e) };
  }
  const chunks: Buffer[] = [];
  let got = 0;
  let err = 0;
  try {
    while (got < req.read) {
      const buf = Buffer.allocUnsafe(Math.min(got < 4096 ? 4096 : 65536, req.read - got));
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        err = code(e);
        break;
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      got += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  if (err !== 0 && got === 0) return { id: req.id, read: true, errno: err };
  return { id: req.id, read: true, hex: Buffer.concat(chunks).toString('hex') };
}

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

// A readlink of a /proc link (cwd, exe, fd/N...), its target as bytes.
function readLinkOnce(req: WorkerRequest): WorkerReadReply {
  try {
    return { id: req.id, read: true, hex: fs.readlinkSync(req.path, { encoding: 'buffer' }).toString('hex') };
  } catch (e) {
    return { id: req.id, read: true, errno: code(e) };
  }
}

parentPort?.on('message', (req: WorkerRequest) => {
  parentPort?.postMessage(
    req.link ? readLinkOnce(req) : req.read !== undefined ? readOnce({ ...req, read: req.read }) : probeOnce(req),
  );
});
parentPort?.postMessage({ ready: true } satisfies WorkerReady);
