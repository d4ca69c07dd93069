// Time budgets for evidence collectors: a collector that runs out of time yields what it has.

export interface Budgeted<T> {
  value: T;
  timedOut: boolean;
  ms: number;
}

// Run `fn` for at most `ms`; on timeout return `fallback` (the work is abandoned, never awaited).
export async function withBudget<T>(ms: number, fallback: T, fn: () => Promise<T>): Promise<Budgeted<T>> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  try {
    const r = await Promise.race([fn(), timeout]);
    const elapsed = Math.round(performance.now() - t0);
    return r === 'timeout'
      ? { value: fallback, timedOut: true, ms: elapsed }
      : { value: r, timedOut: false, ms: elapsed };
  } finally {
    clearTimeout(timer);
  }
}

// Map over items with at most `limit` in flight, stopping early once `deadline` (performance.now) passes.
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  deadline = Infinity,
): Promise<Array<R | undefined>> {
  const out: Array<R | undefined> = new Array<R | undefined>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && performance.now() < deadline) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
