// When watch acts (issue 4 "The loop"): hysteresis before an incident, exponential backoff between
// heals of one mount, and a circuit breaker that stops healing a mount that keeps failing.

// Counts consecutive failed probes; an incident opens only after `threshold` in a row, so a blip
// does not page anyone.
export class Hysteresis {
  private failures = 0;
  private firstFailureAt: number | null = null;

  constructor(readonly threshold: number) {}

  // Record one probe outcome; returns 'open' exactly once, when the threshold is reached.
  record(ok: boolean, now: number): 'open' | 'ok' | 'failing' | 'still-failing' {
    if (ok) {
      this.failures = 0;
      this.firstFailureAt = null;
      return 'ok';
    }
    this.failures++;
    this.firstFailureAt ??= now;
    if (this.failures === this.threshold) return 'open';
    return this.failures < this.threshold ? 'failing' : 'still-failing';
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  // When the current run of failures began (the incident's start), or null while healthy.
  get failingSince(): number | null {
    return this.firstFailureAt;
  }
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}

// Delay before attempt number `attempt` (0 for the first retry): initial × factor^attempt, capped.
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const d = o.initialMs * Math.pow(o.factor, Math.max(0, attempt));
  return Math.min(o.maxMs, Math.round(d));
}

// Per-mount exponential backoff: after a failed heal the next one waits longer; success resets it.
export class Backoff {
  private attempts = 0;
  private notBefore = 0;

  constructor(private readonly opts: BackoffOptions) {}

  // True when an attempt may start now.
  ready(now: number): boolean {
    return now >= this.notBefore;
  }

  // Record a failed attempt; returns the time the next one may start.
  failed(now: number): number {
    this.notBefore = now + backoffDelay(this.attempts, this.opts);
    this.attempts++;
    return this.notBefore;
  }

  // Record a success: the next attempt may start at once.
  reset(): void {
    this.attempts = 0;
    this.notBefore = 0;
  }

  get failures(): number {
    return this.attempts;
  }

  get nextAt(): number {
    return this.notBefore;
  }
}

export interface BreakerOptions {
  maxHeals: number; // K heals within the window open the breaker
  windowMs: number;
  cooldownMs: number; // after this, one more heal is allowed (half-open)
}

// The circuit breaker: after K heals of one mount within a window, stop healing it ("flapping").
export class CircuitBreaker {
  private heals: number[] = [];
  private openedAt: number | null = null;

  constructor(private readonly opts: BreakerOptions) {}

  // True when a heal may run now. Opening is reported by `shouldOpen`, so the caller alerts once.
  allows(now: number): boolean {
    if (this.openedAt === null) return true;
    if (now - this.openedAt >= this.opts.cooldownMs) {
      // Half-open: forget the old heals and let one through; a new burst opens it again.
      this.openedAt = null;
      this.heals = [];
      return true;
    }
    return false;
  }

  // Before a heal: when K heals already ran within the window, open and return true (alert now).
  shouldOpen(now: number): boolean {
    if (this.openedAt !== null) return false;
    this.heals = this.heals.filter((t) => now - t < this.opts.windowMs);
    if (this.heals.length >= this.opts.maxHeals) {
      this.openedAt = now;
      return true;
    }
    return false;
  }

  // Record that a heal ran (successful or not: a mount healed K times in a window is flapping).
  recordHeal(now: number): void {
    this.heals.push(now);
  }

  get isOpen(): boolean {
    return this.openedAt !== null;
  }

  get openSince(): number | null {
    return this.openedAt;
  }

  // Heals counted in the window ending at `now`.
  count(now: number): number {
    return this.heals.filter((t) => now - t < this.opts.windowMs).length;
  }
}

// interval × (1 ± jitter), using `random` in [0, 1).
export function jittered(intervalMs: number, jitter: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(intervalMs * (1 + jitter * (2 * random() - 1))));
}
