// Alerts: every event is first written to the SQLite queue, then delivered per
// target in order: a webhook (JSON POST, timeout, quick retries) or an exec hook (argv, the event as
// JSON on stdin). A target that is down keeps its alerts queued; the loop never waits for delivery.
// Delivery is at least once: receivers can drop duplicates by the event's `id`.
import { randomUUID } from 'node:crypto';
import type { Host } from '../host/types.js';
import type { AlertKind, ExecHookConfig, WatchConfig, WebhookConfig } from './config.js';
import type { Logger } from './logger.js';
import { backoffDelay } from './policy.js';
import type { AlertRow, WatchStore } from './store.js';

export interface AlertEvent {
  id: string;
  kind: AlertKind;
  at: string; // ISO
  host: string;
  mountpoint: string;
  summary: string; // one line for humans
  managed?: string;
  incidentId?: number;
  state?: string;
  errno?: string | null;
  cause?: string | null;
  timeToHealMs?: number | null;
  details?: Record<string, unknown>;
}

// `key` identifies the target in the queue (0600 database); `label` is what logs show.
type Target =
  | { key: string; label: string; kind: 'webhook'; cfg: WebhookConfig }
  | { key: string; label: string; kind: 'exec'; cfg: ExecHookConfig };

// A webhook URL as logs show it: scheme and host only. Why: Slack, Teams and most receivers put
// the secret token in the path or query, and logs are read by far more people than the config.
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/...`;
  } catch {
    return '(unparseable URL)';
  }
}

// Delivered alerts are kept this long (for /api and debugging), then pruned once an hour.
export const DELIVERED_KEEP_MS = 24 * 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;

// How long a failed delivery waits before the queue tries it again: 1 s doubling to 30 s.
const REQUEUE = { initialMs: 1000, maxMs: 30_000, factor: 2 };
const QUICK_RETRY_MS = 200;
const TICK_MS = 500;

// The alert dispatcher: queue first, deliver in the background.
export class Alerter {
  private readonly targets: Target[];
  private readonly busy = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private queued: number;
  private stopped = false;
  private lastPruneAt = 0;
  delivered = 0;

  constructor(
    private readonly host: Host,
    private readonly store: WatchStore,
    private readonly cfg: WatchConfig['alerts'],
    private readonly log: Logger,
  ) {
    this.targets = [
      ...cfg.webhooks.map((w): Target => ({
        key: `webhook:${w.url}`,
        label: `webhook:${redactUrl(w.url)}`,
        kind: 'webhook',
        cfg: w,
      })),
      ...cfg.exec.map((e): Target => ({
        key: `exec:${JSON.stringify(e.argv)}`,
        label: `exec:${e.argv[0]}`,
        kind: 'exec',
        cfg: e,
      })),
    ];
    this.queued = store.pendingAlerts();
  }

  // Alerts waiting for delivery (cached: a scrape reads this without touching the database).
  get pending(): number {
    return this.queued;
  }

  // Build an event with an id and time; `emit` queues it.
  event(kind: AlertKind, mountpoint: string, summary: string, extra: Partial<AlertEvent> = {}): AlertEvent {
    return {
      id: randomUUID(),
      kind,
      at: new Date(this.host.now()).toISOString(),
      host: this.host.hostname(),
      mountpoint,
      summary,
      ...extra,
    };
  }

  // Log the event and queue it for every target whose filter wants it; never waits for delivery.
  emit(ev: AlertEvent): void {
    this.log.info({ event: ev }, `alert ${ev.kind}: ${ev.summary}`);
    if (!this.cfg.events.includes(ev.kind)) return;
    const now = this.host.now();
    for (const t of this.targets) {
      this.store.enqueueAlert(t.key, ev as unknown as Record<string, unknown>, now);
      this.queued++;
    }
    if (this.targets.length > 0) setImmediate(() => this.deliverDue());
  }

  // Start delivering in the background (every 500 ms, and at once after each emit), when there is
  // a target to deliver to.
  start(): void {
    this.stopped = false;
    // Without a target nothing is ever queued: no timer (a query of the queue every 500 ms was
    // watch's largest cost between cycles).
    if (this.targets.length === 0) return;
    this.timer = setInterval(() => this.deliverDue(), TICK_MS);
    this.timer.unref();
    setImmediate(() => this.deliverDue());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  // Try the oldest due alert of each target that is not busy; on success move on to its next one.
  deliverDue(): void {
    if (this.stopped || !this.store.db.open) return;
    const now = this.host.now();
    if (now - this.lastPruneAt >= PRUNE_EVERY_MS) {
      this.lastPruneAt = now;
      this.store.pruneDelivered(now - DELIVERED_KEEP_MS);
    }
    for (const row of this.store.dueAlerts(now)) {
      if (this.busy.has(row.target)) continue;
      const target = this.targets.find((t) => t.key === row.target);
      if (!target) {
        this.store.markFailed(row.id, 'target no longer configured', now + 3_600_000);
        continue;
      }
      this.busy.add(row.target);
      void this.deliverOne(target, row).finally(() => {
        this.busy.delete(row.target);
      });
    }
  }

  private async deliverOne(target: Target, row: AlertRow): Promise<void> {
    const tries = target.cfg.retries + 1;
    let lastError = '';
    for (let i = 0; i < tries && !this.stopped; i++) {
      if (i > 0) await sleep(QUICK_RETRY_MS * i);
      lastError =
        target.kind === 'webhook'
          ? await postWebhook(target.cfg, row.event)
          : await this.runExec(target.cfg, row.event);
      if (lastError === '') break;
    }
    if (!this.store.db.open) return;
    const now = this.host.now();
    if (lastError === '') {
      this.store.markDelivered(row.id, now);
      this.queued = Math.max(0, this.queued - 1);
      this.delivered++;
      this.log.debug({ target: target.label, alertId: row.id }, 'alert delivered');
      setImmediate(() => this.deliverDue()); // the next queued alert of this target
    } else {
      const next = now + backoffDelay(row.attempts, REQUEUE);
      this.store.markFailed(row.id, lastError, next);
      this.log.warn(
        { target: target.label, alertId: row.id, attempts: row.attempts + 1, error: lastError },
        'alert delivery failed; it stays queued',
      );
    }
  }

  private async runExec(cfg: ExecHookConfig, event: Record<string, unknown>): Promise<string> {
    const r = await this.host.exec(cfg.argv, { input: `${JSON.stringify(event)}\n`, timeoutMs: cfg.timeout });
    if (r.spawnError) return `cannot run ${cfg.argv[0]}: ${r.spawnError}`;
    if (r.timedOut) return `timed out after ${cfg.timeout}ms`;
    if (r.code !== 0) return `exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(-200)}`;
    return '';
  }
}

// POST the event as JSON; '' on a 2xx answer, else what went wrong.
export async function postWebhook(cfg: WebhookConfig, event: Record<string, unknown>): Promise<string> {
  // Node's fetch parses HTTP with WebAssembly (undici's llhttp); under --jitless there is none, and
  // fetch then throws outside its promise, which would end the daemon: an error string instead.
  if ((globalThis as { WebAssembly?: unknown }).WebAssembly === undefined)
    return 'cannot POST: this Node has no WebAssembly (--jitless), which fetch needs';
  try {
    const res = await fetch(cfg.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'enotconn-watch', ...cfg.headers },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(cfg.timeout),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? '' : `HTTP ${res.status}`;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    if (err.name === 'TimeoutError') return `timed out after ${cfg.timeout}ms`;
    return (err.cause?.code ?? err.message).split(cfg.url).join(redactUrl(cfg.url));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
