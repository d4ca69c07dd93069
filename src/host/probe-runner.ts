import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { chooseEngine, spawnEngine, type ProbeEngineName } from './probe-engine.js';
import type { PidRange } from './pid-ranges.js';
import { takeEarlyEngine, type EarlyProbe, type EarlyTable } from './probe-early.js';
import { answerEach } from './probe-each.js';
import { probeIds, probeLine, quietProbeLine, readLine, tableLine, toHex, type ReadRequest } from './probe-protocol.js';
import { registryName } from './stuck-registry.js';
import type {
  BindTreeRequest,
  BindTreeResult,
  GraftRequest,
  GraftResult,
  ProbeOptions,
  ProbeResult,
  ProbeTarget,
} from './types.js';
import { classifyErrnoNumber, errnoName } from '../mounts/probe/classify.js';

// Extra time the runner allows beyond the probe timeout before it answers `hung` itself, should
// the engine not answer (a Node child still starting on a loaded host): scan's bound is timeout
// + 0.3 s whatever hangs (DESIGN §2).
const ENGINE_SLACK_MS = 250;
// Engine concurrency when a read or graft starts it: enough for a later scan or watch cycle, so
// the engine is not restarted when probes follow. A read or graft uses whatever engine runs:
// restarting it would abandon the requests in flight on it.
const READ_CONCURRENCY = 8;
// This process's uid, read once (a getuid(2) per probe was a syscall per mount per watch cycle).
const MY_UID = process.getuid?.() ?? 0;
// At most this many paths and mount keys are kept with their hex and registry names.
const CACHE_MAX = 10000;

interface Pending {
  target: ProbeTarget;
  key: string;
  timeoutMs: number;
  resolve: (r: ProbeResult) => void;
  deadline: number; // performance.now() by which the engine must answer, else the runner says hung
  answered: boolean; // resolved by the runner's own deadline; the engine's late answer frees the key
  quiet: boolean; // sent as the helper's quiet probe (O): a barrier (Z) resolves it when left out
}

type TableEnd = { done: true } | { hung: number } | { lost: true };
interface TableRead {
  onRow: (pid: number, fields: string[]) => void;
  resolve: (r: TableEnd) => void;
  timer: NodeJS.Timeout;
  rows: number; // rows so far (the timer looks whether any came since it last fired)
}

// The answer of a bounded read (readBounded).
export type BoundedRead = { ok: true; data: Buffer } | { ok: false; errno: string } | { ok: false; hung: true };

// Runs probes in a dedicated, abandonable engine process (the native helper, or the Node probe
// child as the fallback), at most one per mount, here and, through the engine's registry, across
// every enotconn process on the host.
export class ProbeRunner {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly reads = new Map<number, { resolve: (r: BoundedRead) => void; timer: NodeJS.Timeout }>();
  private readonly grafts = new Map<number, { resolve: (r: GraftResult) => void; timer: NodeJS.Timeout }>();
  private readonly binds = new Map<number, { resolve: (r: BindTreeResult) => void; timer: NodeJS.Timeout }>();
  // One process's /proc fields (Q) in flight.
  private readonly fieldReads = new Map<number, { resolve: (f: string[] | null) => void; timer: NodeJS.Timeout }>();
  // Process tables (T) in progress: rows go to onRow. One timer each: when it fires, the table is
  // lost only if no row came since it last fired (a timer re-armed, or the clock read, per row
  // cost more than the row).
  private readonly tables = new Map<number, TableRead>();
  // The tables the early engine was asked for (probe-early.ts), one per pid range, each until a
  // matching table() takes it.
  private early: Array<{
    table: EarlyTable;
    read: TableRead;
    rows: Array<[number, string[]]>;
    result: TableEnd | null;
  }> = [];
  // Mounts whose probe from this process has not returned yet: key → since (ms).
  private readonly inFlight = new Map<string, number>();
  private readonly keyByHash = new Map<string, string>();
  private readonly registryDir: string;
  private workers = 0;
  // Requests written in one turn of the event loop go to the engine in one write (the watch loop
  // starts a probe per mount each cycle; one pipe write each was its largest single CPU cost).
  private outBuf: string[] = [];
  private outChild: ChildProcess | null = null;
  // Quiet probes in outBuf, and the barrier sent after each batch of them: Z id → their ids.
  private quietIds: number[] = [];
  private quietBuckets = '-'; // the buckets the next barrier asks for (µs, comma-separated)
  private quietBucketsOf: readonly number[] | undefined; // the array quietBuckets was made from
  private readonly barriers = new Map<number, number[]>();
  private quietRefused = false; // an older helper answered O with E: plain probes from then on
  readonly engine: ProbeEngineName;
  private readonly helper: string | null;
  orphans = 0; // probes that timed out and never returned, in this process's lifetime
  onUnstuck: ((key: string) => void) | null = null;

  constructor(runDir: string) {
    this.registryDir = path.join(runDir, 'probes');
    const e = chooseEngine();
    this.engine = e.name;
    this.helper = e.helper;
  }

  // Probe each target once, or report it hung without probing when a probe of it is in flight.
  async probe(targets: readonly ProbeTarget[], opts: ProbeOptions): Promise<ProbeResult[]> {
    return Promise.all(targets.map((t) => new Promise<ProbeResult>((resolve) => this.start(t, opts, resolve))));
  }

  // As probe(), but `each(i, result)` is called as each answer arrives, with no promise per target
  // (a watch cycle probes every mount: one promise each was most of its steady cost). Resolves once
  // every target has had its call; rejects then with the first error an `each` call threw.
  probeEach(
    targets: readonly ProbeTarget[],
    opts: ProbeOptions,
    each: (i: number, r: ProbeResult) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const one = answerEach(targets.length, each, resolve, reject);
      for (let i = 0; i < targets.length; i++) this.start(targets[i]!, opts, (r) => one(i, r));
    });
  }

  // Number of probes currently outstanding (including stuck ones).
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  // Send one probe; `resolve` is called once with its answer (maybe at once: a mount in flight).
  private start(target: ProbeTarget, opts: ProbeOptions, resolve: (r: ProbeResult) => void): void {
    const child = this.ensureChild(opts.concurrency); // adopts the early engine and its probes
    if (this.earlyProbes.size > 0) {
      const early = this.takeEarlyProbe(target, opts);
      if (early) return void early.then(resolve);
    }
    const since = this.inFlight.get(target.key);
    if (since !== undefined) {
      return resolve({ state: 'hung', timeoutMs: opts.timeoutMs, stuckSinceMs: since, skipped: true });
    }
    const id = this.nextId++;
    const hash = this.hashOf(target.key);
    this.inFlight.set(target.key, Date.now());
    this.keyByHash.set(hash, target.key);
    const deadline = performance.now() + opts.timeoutMs + ENGINE_SLACK_MS;
    const band = this.engine === 'native' && !this.quietRefused ? target.unchangedBandUs : undefined;
    const p: Pending = {
      target,
      key: target.key,
      timeoutMs: opts.timeoutMs,
      resolve,
      deadline,
      answered: false,
      quiet: band !== undefined,
    };
    this.waiting++;
    this.armWatchdog(deadline);
    this.pending.set(id, p);
    if (band !== undefined && opts.latencyBucketsUs !== this.quietBucketsOf) {
      this.quietBucketsOf = opts.latencyBucketsUs;
      this.quietBuckets = opts.latencyBucketsUs?.map((b) => Math.round(b)).join(',') || '-';
    }
    this.send(child, this.requestLine(id, target, hash, opts.timeoutMs, band), band !== undefined ? id : undefined);
  }

  // One timer for every probe's deadline (a scan or a watch cycle sends a probe per mount: a timer
  // each was a good share of the runner's CPU). It fires at the earliest deadline still waited on,
  // says `hung` for the probes past theirs, and sleeps until the next one; with nothing to wait for
  // it is cleared, so it never keeps the process alive.
  private watchdog: NodeJS.Timeout | null = null;
  private watchdogAt = Infinity;
  private waiting = 0; // probes sent and not yet resolved

  private armWatchdog(at: number): void {
    if (this.watchdog !== null && at >= this.watchdogAt) return;
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdogAt = at;
    this.watchdog = setTimeout(() => this.onWatchdog(), Math.max(0, at - performance.now()));
  }

  private onWatchdog(): void {
    this.watchdog = null;
    this.watchdogAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const p of this.pending.values()) {
      if (p.answered) continue;
      if (p.deadline <= now) {
        // The engine did not answer in time (overloaded or wedged): report hung, keep the key in
        // flight until the engine answers after all, says it returned, or dies.
        p.answered = true;
        this.waiting--;
        this.orphans++;
        p.resolve({ state: 'hung', timeoutMs: p.timeoutMs });
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    if (next < Infinity) this.armWatchdog(next);
  }

  // A probe answered by the engine before the runner's deadline: one fewer to wait for.
  private settled(p: Pending): void {
    if (p.answered) return;
    this.waiting--;
    if (this.waiting === 0 && this.watchdog !== null) {
      clearTimeout(this.watchdog);
      this.watchdog = null;
      this.watchdogAt = Infinity;
    }
  }

  // The request line of a probe: what follows its id is kept per target object (the watch loop
  // passes the same target every cycle), so a cycle builds one short string per mount.
  private readonly tails = new WeakMap<ProbeTarget, { timeoutMs: number; quiet: boolean; tail: string }>();
  private requestLine(
    id: number,
    target: ProbeTarget,
    hash: string,
    timeoutMs: number,
    band: readonly [number, number] | undefined,
  ): string {
    const quiet = band !== undefined;
    let c = this.tails.get(target);
    if (!c || c.timeoutMs !== timeoutMs || c.quiet !== quiet) {
      const req = { id: 0, timeoutMs, ...probeIds(target, MY_UID), hash, path: target.path };
      const hex = this.hexOf(target.path);
      const line = band !== undefined ? quietProbeLine(req, band, hex) : probeLine(req, hex);
      c = { timeoutMs, quiet, tail: line.slice(4) }; // after "P 0 " or "O 0 "
      this.tails.set(target, c);
    }
    return `${quiet ? 'O' : 'P'} ${id} ${c.tail}`;
  }

  // The hex of a path, cached like its registry name.
  private readonly hexes = new Map<string, string>();
  private hexOf(p: string): string {
    return cached(this.hexes, p, toHex);
  }

  // The registry name of a mount key, cached: the watch loop probes the same mounts every cycle.
  private readonly hashes = new Map<string, string>();
  private hashOf(key: string): string {
    return cached(this.hashes, key, registryName);
  }

  // Read at most `maxBytes` of a /proc or /sys file through the engine, abandoned after
  // `timeoutMs`: a process's stat, environ or maps read waits on its exec lock or mm lock, which
  // a task stuck in execve (closing a file on a stopped FUSE mount) or faulting on a hung mount
  // holds for as long as the mount hangs. Both engines serve it, on a thread that can be abandoned.
  readBounded(file: string, maxBytes: number, timeoutMs: number): Promise<BoundedRead> {
    return this.readRequest({ timeoutMs, maxBytes, path: file });
  }

  // readlink of a /proc link (cwd, exe, root, fd/N, ns/*) through the engine, abandoned after
  // `timeoutMs`: such a readlink waits as long as a stat read does on a process stuck in execve.
  readLinkBounded(link: string, timeoutMs: number): Promise<BoundedRead> {
    return this.readRequest({ timeoutMs, maxBytes: 4096, path: link, link: true });
  }

  private readRequest(r: Omit<ReadRequest, 'id'>): Promise<BoundedRead> {
    const child = this.liveChild() ?? this.ensureChild(READ_CONCURRENCY);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.reads.delete(id);
        resolve({ ok: false, hung: true });
      }, r.timeoutMs + ENGINE_SLACK_MS);
      this.reads.set(id, { resolve, timer });
      this.send(child, readLine({ id, ...r }));
    });
  }

  // One process's /proc files in one request (the helper's letters: a cmdline, s stat, n ns/mnt,
  // c cwd, r root, e exe, f fds, u FUSE connections, m mapped paths under `prefix`): the reply's
  // fields in the order asked, or null when it did not answer in `timeoutMs` or the engine is not
  // the native helper.
  async procFields(pid: number, letters: string, prefix: string | null, timeoutMs: number): Promise<string[] | null> {
    if (this.engine !== 'native') return null;
    const hexPrefix = prefix === null ? '-' : toHex(prefix);
    const f = await this.request(timeoutMs, (id, ms) => `Q ${id} ${ms} ${pid} ${letters} ${hexPrefix}`);
    return f !== null && f[0] === 'ok' && f.length === letters.length + 1 ? f.slice(1) : null;
  }

  // lstat(2) of "/" and each longer prefix of `p` (stat(2) of `p` with `follow`) in the helper
  // (request S): one item per path looked at, "dev:ino:uid:mode" or "-errno"; null when it did not
  // answer in time or the engine is not the native helper.
  async statChain(p: string, follow: boolean, timeoutMs: number): Promise<string[] | null> {
    if (this.engine !== 'native') return null;
    const f = await this.request(timeoutMs, (id, ms) => `S ${id} ${ms} ${follow ? 'f' : 'p'} ${toHex(p)}`);
    return f !== null && f[0] === 'ok' && f[1] !== undefined ? f[1].split(',') : null;
  }

  // A validation read (request V: l count, f first file, r bytes) of `p`: the reply's fields
  // (ok and the value, or err and an errno number), or null when it did not answer in time or
  // the engine is not the native helper.
  async view(p: string, what: 'l' | 'f' | 'r', maxBytes: number, timeoutMs: number): Promise<string[] | null> {
    if (this.engine !== 'native') return null;
    const f = await this.request(timeoutMs, (id, ms) => `V ${id} ${ms} ${what} ${maxBytes} ${toHex(p)}`);
    return f === null || f[0] === 'hung' ? null : f;
  }

  // The first lines of the kernel log's records that hold one of `words`, among the last
  // `maxRecords` (request K): read and filtered in the helper, so thousands of read(2) calls and
  // records cross neither this thread nor the pipe. null when it did not answer in time or the
  // engine is not the native helper; an errno name when /dev/kmsg could not be opened.
  async kmsg(words: readonly string[], maxRecords: number, timeoutMs: number): Promise<string[] | string | null> {
    if (this.engine !== 'native') return null;
    const hexWords = toHex(words.join('\n'));
    const f = await this.request(timeoutMs, (id, ms) => `K ${id} ${ms} ${maxRecords} ${hexWords}`);
    if (f === null || f[0] === 'hung' || f[1] === undefined) return null;
    if (f[0] !== 'ok') return errnoName(Number(f[1]));
    return f[1] === '-' ? [] : Buffer.from(f[1], 'hex').toString('utf8').split('\n');
  }

  // The same fields for every process whose pid is above `afterPid` (and at most `lastPid`), in one request: `onRow` gets
  // each (pid ascending). Each process has its own deadline of `timeoutMs`: `hung` names the one
  // whose read did not return (ask again after it); `lost` means the engine stopped answering.
  table(
    letters: string,
    prefix: string | null,
    timeoutMs: number,
    afterPid: number,
    lastPid: number | null,
    onRow: (pid: number, fields: string[]) => void,
  ): Promise<TableEnd> {
    if (this.engine !== 'native') return Promise.resolve({ lost: true });
    const child = this.liveChild() ?? this.ensureChild(READ_CONCURRENCY);
    const i = this.early.findIndex(
      (e) =>
        e.table.letters === letters && prefix === null && e.table.range[0] === afterPid && e.table.range[1] === lastPid,
    );
    if (i >= 0) {
      // Asked for at start-up already: its rows so far, then the rest as they come.
      const [early] = this.early.splice(i, 1);
      for (const [pid, f] of early!.rows) onRow(pid, f);
      if (early!.result) return Promise.resolve(early!.result);
      return new Promise((resolve) => {
        early!.read.onRow = onRow;
        early!.read.resolve = resolve;
      });
    }
    const id = this.nextId++;
    const hexPrefix = prefix === null ? '-' : toHex(prefix);
    return new Promise((resolve) => {
      this.tables.set(id, this.tableRead(id, timeoutMs, onRow, resolve));
      this.send(child, tableLine({ id, timeoutMs, afterPid, lastPid, letters, hexPrefix }));
    });
  }

  // The pid ranges of the table asked for at start-up with these letters (every process, no
  // prefix), when none of it has been taken yet; null otherwise.
  earlyTableRanges(letters: string): PidRange[] | null {
    const mine = this.early.filter((e) => e.table.letters === letters);
    return mine.length > 0 ? mine.map((e) => e.table.range) : null;
  }

  private tableRead(
    id: number,
    timeoutMs: number,
    onRow: TableRead['onRow'],
    resolve: TableRead['resolve'],
  ): TableRead {
    // The helper gives each process its own deadline and says `hung` itself; this is the backstop
    // for a helper that stops answering: no row in a whole window (so at most two windows).
    const limitMs = timeoutMs + ENGINE_SLACK_MS;
    let seen = 0;
    const check = (): void => {
      if (t.rows !== seen) {
        seen = t.rows;
        t.timer = setTimeout(check, limitMs);
        return;
      }
      this.tables.delete(id);
      t.resolve({ lost: true });
    };
    const t: TableRead = { onRow, resolve, timer: setTimeout(check, limitMs), rows: 0 };
    return t;
  }

  private request(timeoutMs: number, line: (id: number, ms: number) => string): Promise<string[] | null> {
    const child = this.liveChild() ?? this.ensureChild(READ_CONCURRENCY);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.fieldReads.delete(id);
        resolve(null);
      }, timeoutMs + ENGINE_SLACK_MS);
      this.fieldReads.set(id, { resolve, timer });
      this.send(child, line(id, Math.max(1, Math.round(timeoutMs))));
    });
  }

  // Re-graft a mount into another mount namespace (DESIGN §8), done by the native helper from
  // the host: clone the tree at `source` (a host path on `sourceDevice`, possibly a subdirectory
  // of the fresh mount), enter the namespace (checked by inode), detach the stale copy at
  // `target` (checked by mount id; never followed through symlinks) and move the clone there with
  // the copy's flags. Nothing runs inside the namespace. Without the helper: ENOSYS.
  graft(req: GraftRequest): Promise<GraftResult> {
    if (this.engine !== 'native') return Promise.resolve({ ok: false, errno: 'ENOSYS', step: 'helper' });
    const child = this.liveChild() ?? this.ensureChild(READ_CONCURRENCY);
    const id = this.nextId++;
    // MOUNT_ATTR_RDONLY 0x1, NOSUID 0x2, NODEV 0x4, NOEXEC 0x8 (linux/mount.h).
    const attrs =
      (req.attrs.ro ? 1 : 0) | (req.attrs.nosuid ? 2 : 0) | (req.attrs.nodev ? 4 : 0) | (req.attrs.noexec ? 8 : 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.grafts.delete(id);
        resolve({ ok: false, hung: true });
      }, req.timeoutMs + ENGINE_SLACK_MS);
      this.grafts.set(id, { resolve, timer });
      this.send(
        child,
        `G ${id} ${Math.max(1, Math.round(req.timeoutMs))} ${req.pid} ${req.mntnsInode} ${attrs} ${req.sourceDevice} ${req.staleMountId ?? -1} ${toHex(req.source)} ${toHex(req.target)}`,
      );
    });
  }

  // Bind `req.source` onto `req.target` by file descriptors in this mount namespace (the native
  // helper's M request: openat2 RESOLVE_NO_SYMLINKS, open_tree, an st_dev/st_ino check, mount_setattr,
  // move_mount). Without the helper: ENOSYS.
  bindTree(req: BindTreeRequest): Promise<BindTreeResult> {
    if (this.engine !== 'native') return Promise.resolve({ ok: false, errno: 'ENOSYS', step: 'helper' });
    const child = this.liveChild() ?? this.ensureChild(READ_CONCURRENCY);
    const id = this.nextId++;
    // MOUNT_ATTR_RDONLY, _NOSUID, _NODEV, _NOEXEC (include/uapi/linux/mount.h).
    const bits = { ro: 0x1, nosuid: 0x2, nodev: 0x4, noexec: 0x8 } as const;
    const attrs = req.attrs.reduce((a, o) => a | bits[o], 0);
    const want = [req.sourceId?.dev, req.sourceId?.ino, req.targetId?.dev, req.targetId?.ino].map((n) =>
      n === undefined || n === null ? '-' : String(n),
    );
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.binds.delete(id);
        resolve({ ok: false, hung: true });
      }, req.timeoutMs + ENGINE_SLACK_MS);
      this.binds.set(id, { resolve, timer });
      this.send(
        child,
        `M ${id} ${Math.max(1, Math.round(req.timeoutMs))} ${req.recursive ? 1 : 0} ${attrs} ${want.join(' ')} ${toHex(req.source)} ${toHex(req.target)}`,
      );
    });
  }

  // The mount table watch of the running helper (W): `armed` once it answered ok, `dirty` when the
  // table may have changed since the caller last heard false.
  private tableWatch: { child: ChildProcess; id: number; armed: boolean; dirty: boolean } | null = null;

  // False only when the native helper has watched this process's mount table since the last call
  // and saw no change (proc(5): mountinfo is pollable), so the caller may keep its parsed table.
  // True otherwise: the Node child does not watch, the helper is not armed yet, or it said
  // `changed`. The first call starts the watch (and the helper, if it is not running); the call
  // after it is armed still says true, for a change between the caller's last read and the arming.
  mountTableMayHaveChanged(): boolean {
    if (this.engine !== 'native') return true;
    // Started for the watch when nothing else started it (a watch with no mount to probe yet).
    const child = this.liveChild() ?? this.ensureChild(READ_CONCURRENCY);
    const w = this.tableWatch;
    if (!w || w.child !== child) {
      this.tableWatch = { child, id: this.nextId++, armed: false, dirty: true };
      this.send(child, `W ${this.tableWatch.id}`);
      return true;
    }
    if (!w.armed) return true;
    if (!w.dirty) return false;
    w.dirty = false;
    return true;
  }

  private onTableWatch(id: number, what: string | undefined): void {
    const w = this.tableWatch;
    if (!w || w.id !== id) return;
    if (what === 'ok') w.armed = true; // after `err` it never is: every call then says true
    w.dirty = true;
  }

  private send(child: ChildProcess, line: string, quietId?: number): void {
    if (this.outChild !== child) this.flush();
    this.outChild = child;
    this.outBuf.push(line);
    if (quietId !== undefined) this.quietIds.push(quietId);
    if (this.outBuf.length === 1) setImmediate(() => this.flush());
  }

  // Write the buffered requests in one write; quiet probes are followed by one barrier.
  private flush(): void {
    const child = this.outChild;
    if (this.outBuf.length === 0 || !child) return;
    if (this.quietIds.length > 0) {
      const z = this.nextId++;
      this.barriers.set(z, this.quietIds);
      this.quietIds = [];
      this.outBuf.push(`Z ${z} ${this.quietBuckets}`);
    }
    const text = `${this.outBuf.join('\n')}\n`;
    this.outBuf = [];
    child.stdin?.write(text);
  }

  // A barrier's answer: the quiet probes sent before it that have no answer yet were left out,
  // healthy in their band. The helper counts them per histogram bucket; a count that differs is a
  // protocol fault, and they are reported unknown rather than healthy.
  private onBarrier(id: number, f: string[]): void {
    const ids = this.barriers.get(id);
    if (!ids) return;
    this.barriers.delete(id);
    const leftOut: Pending[] = [];
    for (const i of ids) {
      const p = this.pending.get(i);
      if (!p) continue;
      this.pending.delete(i);
      leftOut.push(p);
    }
    // Per bucket, `count:sum_us`: each left-out probe takes its bucket's mean, which lies in it.
    const means: number[] = [];
    for (const g of (f[4] ?? '').split(',')) {
      const [c, sum] = g.split(':').map(Number) as [number, number];
      for (let i = 0; i < c; i++) means.push(sum / c / 1000);
    }
    const exact = f[2] === 'done' && Number(f[3]) === leftOut.length && means.length === leftOut.length;
    for (const [i, p] of leftOut.entries()) {
      this.settled(p);
      this.inFlight.delete(p.key);
      this.keyByHash.delete(this.hashOf(p.key));
      if (p.answered) {
        this.onUnstuck?.(p.key); // the runner had given up on it; it returned after all
        continue;
      }
      p.resolve(
        exact
          ? { state: 'healthy', latencyMs: means[i]!, unchanged: true }
          : { state: 'unknown', errno: 'EPROTO', syscall: 'statfs', latencyMs: 0 },
      );
    }
  }

  // The running engine, whatever its concurrency (a read or graft never restarts it).
  private liveChild(): ChildProcess | null {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? c : null;
  }

  // Start the engine ahead of the first probe (its start-up is the main fixed cost).
  prepare(concurrency: number): void {
    this.ensureChild(concurrency);
  }

  private ensureChild(concurrency: number): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null && this.workers >= concurrency) {
      return this.child;
    }
    if (this.child) {
      this.flush(); // requests already addressed to the old engine go to it
      this.release(); // a new concurrency asks for a new engine; the old one drains
    }
    const early = this.child === null ? takeEarlyEngine(this.registryDir, concurrency) : null;
    const child =
      early && early.engine === this.engine
        ? early.child
        : spawnEngine(this.engine, this.helper, this.registryDir, concurrency);
    this.attach(child, early && early.child === child ? early.concurrency : concurrency);
    if (early && early.child === child) {
      for (const t of early.tables) this.adoptTable(t);
      this.adoptProbes(early.probes);
    }
    return child;
  }

  // The early engine's probes (probe-early.ts), by mount key, until probe() asks for that mount:
  // each is in flight like one of this runner's own, and its answer waits here until then.
  private readonly earlyProbes = new Map<
    string,
    { probe: EarlyProbe; result: ProbeResult | null; take: ((r: ProbeResult) => void) | null }
  >();

  private adoptProbes(probes: readonly EarlyProbe[]): void {
    for (const e of probes) {
      const slot = { probe: e, result: null as ProbeResult | null, take: null as ((r: ProbeResult) => void) | null };
      const resolve = (r: ProbeResult): void => {
        if (slot.take) slot.take(r);
        else slot.result = r;
      };
      const target = { key: e.key, path: e.path, ...(e.uid !== undefined ? { uid: e.uid, gid: e.gid } : {}) };
      const deadline = e.sentAt + e.timeoutMs + ENGINE_SLACK_MS;
      this.pending.set(e.id, {
        target,
        key: e.key,
        timeoutMs: e.timeoutMs,
        resolve,
        deadline,
        answered: false,
        quiet: false,
      });
      this.waiting++;
      this.armWatchdog(deadline);
      this.inFlight.set(e.key, e.sentWallMs);
      this.keyByHash.set(e.hash, e.key);
      this.hashes.set(e.key, e.hash);
      this.earlyProbes.set(e.key, slot);
      if (e.id >= this.nextId) this.nextId = e.id + 1;
    }
  }

  // The early probe of `target`, when one was sent for the same path, user and timeout.
  private takeEarlyProbe(target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> | null {
    const slot = this.earlyProbes.get(target.key);
    if (!slot) return null;
    this.earlyProbes.delete(target.key);
    const e = slot.probe;
    if (e.path !== target.path || e.uid !== target.uid || e.gid !== target.gid || e.timeoutMs !== opts.timeoutMs) {
      // A probe of another kind (the mount changed since the entry read the table): its key stays
      // in flight until it answers, so this probe is reported as one still in flight, as for any.
      return null;
    }
    if (slot.result) return Promise.resolve(slot.result);
    return new Promise((resolve) => (slot.take = resolve));
  }

  // Collect the early engine's table until a table() call asks for it.
  private adoptTable(table: EarlyTable): void {
    const rows: Array<[number, string[]]> = [];
    const entry: { table: EarlyTable; read: TableRead; rows: typeof rows; result: TableEnd | null } = {
      table,
      rows,
      result: null,
      read: this.tableRead(
        table.id,
        table.timeoutMs,
        (pid, f) => rows.push([pid, f]),
        (r) => (entry.result = r),
      ),
    };
    this.tables.set(table.id, entry.read);
    this.early.push(entry);
    if (table.id >= this.nextId) this.nextId = table.id + 1;
  }

  private attach(child: ChildProcess, concurrency: number): void {
    this.workers = concurrency;
    this.child = child;
    // Never what keeps this process alive: every request in flight holds its own timer instead.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    child.stdout!.setEncoding('latin1');
    let tail = ''; // per engine: a released engine may still be answering beside the new one
    child.stdout!.on('data', (chunk: string) => (tail = this.onData(tail + chunk)));
    child.stdin?.on('error', () => undefined);
    child.on('exit', () => {
      // A released engine exiting after it drained says nothing about the current one's requests.
      if (this.child !== child && this.child !== null) return;
      this.child = null;
      this.tableWatch = null;
      this.barriers.clear();
      this.quietIds = [];
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        if (!p.answered) {
          this.settled(p);
          p.resolve({ state: 'unknown', errno: 'EPROBECHILD', syscall: 'statfs', latencyMs: 0 });
        }
      }
      for (const [id, r] of this.reads) {
        clearTimeout(r.timer);
        this.reads.delete(id);
        r.resolve({ ok: false, errno: 'EPROBECHILD' });
      }
      for (const [id, g] of this.grafts) {
        clearTimeout(g.timer);
        this.grafts.delete(id);
        g.resolve({ ok: false, errno: 'EPROBECHILD', step: 'helper' });
      }
      for (const [id, r] of this.fieldReads) {
        clearTimeout(r.timer);
        this.fieldReads.delete(id);
        r.resolve(null);
      }
      for (const [id, t] of this.tables) {
        clearTimeout(t.timer);
        this.tables.delete(id);
        t.resolve({ lost: true });
      }
      for (const [id, b] of this.binds) {
        clearTimeout(b.timer);
        this.binds.delete(id);
        b.resolve({ ok: false, errno: 'EPROBECHILD', step: 'helper' });
      }
      this.inFlight.clear();
      this.keyByHash.clear();
    });
  }

  // Handle every whole line of `text`; returns the unfinished rest.
  private onData(text: string): string {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.onLine(text.slice(start, nl));
      start = nl + 1;
    }
    return text.slice(start);
  }

  private onLine(line: string): void {
    const f = line.split(' ');
    const kind = f[0];
    if (kind === 'U') {
      const key = this.keyByHash.get(f[1]!);
      if (key === undefined) return;
      this.keyByHash.delete(f[1]!);
      this.inFlight.delete(key);
      this.onUnstuck?.(key);
      return;
    }
    const id = Number(f[1]);
    if (kind === 'D') return this.onRead(id, f);
    if (kind === 'W') return this.onTableWatch(id, f[2]);
    if (kind === 'Z') return this.onBarrier(id, f);
    if (kind === 'E' && this.barriers.delete(id)) return; // an older helper: its O lines are refused too
    if (kind === 'Q' || kind === 'S' || kind === 'K' || kind === 'V') return this.onFields(id, f);
    if (kind === 't' || kind === 'T') return this.onTable(id, f);
    if (kind === 'M') {
      const b = this.binds.get(id);
      if (!b) return;
      clearTimeout(b.timer);
      this.binds.delete(id);
      if (f[2] === 'ok') b.resolve({ ok: true });
      else if (f[2] === 'hung') b.resolve({ ok: false, hung: true });
      else b.resolve({ ok: false, errno: errnoName(Number(f[3])), step: f[4] ?? '?' });
      return;
    }
    if (kind === 'G') {
      const g = this.grafts.get(id);
      if (!g) return;
      clearTimeout(g.timer);
      this.grafts.delete(id);
      if (f[2] === 'ok') g.resolve({ ok: true });
      else if (f[2] === 'hung') g.resolve({ ok: false, hung: true });
      else g.resolve({ ok: false, errno: errnoName(Number(f[3])), step: f[4] ?? '?' });
      return;
    }
    const p = this.pending.get(id);
    if (!p) return;
    if (kind === 'E' && p.quiet) {
      // An older helper without quiet probes: this one again as a plain probe, and no more quiet ones.
      this.quietRefused = true;
      p.quiet = false;
      if (this.child) this.send(this.child, this.requestLine(id, p.target, this.hashOf(p.key), p.timeoutMs, undefined));
      return;
    }
    if (kind === 'H') {
      // Timed out in the engine: hung. The key stays in flight until `U` (the probe returned).
      this.pending.delete(id);
      if (!p.answered) {
        this.settled(p);
        this.orphans++;
        p.resolve({ state: 'hung', timeoutMs: p.timeoutMs });
      }
      return;
    }
    this.pending.delete(id);
    this.settled(p);
    if (kind === 'B') {
      // Another enotconn process holds a probe of this mount: report hung without probing.
      this.inFlight.delete(p.key);
      this.keyByHash.delete(this.hashOf(p.key));
      if (!p.answered) {
        p.resolve({ state: 'hung', timeoutMs: p.timeoutMs, stuckSinceMs: Number(f[2]), skipped: true });
      }
      return;
    }
    this.inFlight.delete(p.key);
    this.keyByHash.delete(this.hashOf(p.key));
    if (p.answered) {
      this.onUnstuck?.(p.key); // the runner had given up on it; it returned after all
      return;
    }
    if (kind === 'P' && f[2] === 'ok') {
      p.resolve({ state: 'healthy', latencyMs: Number(f[3]) / 1000 });
    } else if (kind === 'P' && f[2] === 'err') {
      const n = Number(f[3]);
      p.resolve({
        state: classifyErrnoNumber(n),
        errno: errnoName(n),
        syscall: f[4] === 'l' ? 'lstat' : 'statfs',
        latencyMs: Number(f[5]) / 1000,
      });
    } else {
      p.resolve({ state: 'unknown', errno: 'EPROTO', syscall: 'statfs', latencyMs: 0 });
    }
  }

  private onTable(id: number, f: string[]): void {
    const t = this.tables.get(id);
    if (!t) return;
    if (f[0] === 't') {
      t.rows++;
      t.onRow(Number(f[2]), f.slice(3));
      return;
    }
    clearTimeout(t.timer);
    this.tables.delete(id);
    if (f[2] === 'done') t.resolve({ done: true });
    else if (f[2] === 'hung') t.resolve({ hung: Number(f[3]) });
    else t.resolve({ lost: true });
  }

  private onFields(id: number, f: string[]): void {
    const r = this.fieldReads.get(id);
    if (!r) return;
    clearTimeout(r.timer);
    this.fieldReads.delete(id);
    r.resolve(f.slice(2));
  }

  private onRead(id: number, f: string[]): void {
    const r = this.reads.get(id);
    if (!r) return;
    clearTimeout(r.timer);
    this.reads.delete(id);
    if (f[2] === 'ok') r.resolve({ ok: true, data: Buffer.from(f[3] ?? '', 'hex') });
    else if (f[2] === 'hung') r.resolve({ ok: false, hung: true });
    else r.resolve({ ok: false, errno: errnoName(Number(f[3])) });
  }

  private release(): void {
    const child = this.child;
    if (!child) return;
    if (this.outChild === child) this.flush();
    this.child = null;
    child.stdin?.end(); // the engine exits once its stuck probes (if any) return; its answers still count
    child.unref();
  }

  // Abandon the engine: it finishes or stays blocked on its own, never holding up this process.
  close(): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdog = null;
    for (const r of this.reads.values()) clearTimeout(r.timer);
    for (const g of this.grafts.values()) clearTimeout(g.timer);
    for (const b of this.binds.values()) clearTimeout(b.timer);
    for (const r of this.fieldReads.values()) clearTimeout(r.timer);
    for (const t of this.tables.values()) clearTimeout(t.timer);
    this.release();
  }
}

// `map`'s value for `key`, computed once; the map is emptied when it reaches CACHE_MAX entries.
function cached(map: Map<string, string>, key: string, compute: (k: string) => string): string {
  let v = map.get(key);
  if (v === undefined) {
    if (map.size >= CACHE_MAX) map.clear();
    v = compute(key);
    map.set(key, v);
  }
  return v;
}
