// The process-level guard of the watch daemon. A rejected promise nobody awaited is logged and
// watch keeps serving: it left no half-done synchronous work behind. An uncaught exception is not
// survivable: Node's docs ("Warning: Using 'uncaughtException' correctly") say the process is in an
// undefined state after one, so watch logs one clear line and exits; the daemons it started run in
// their own units or cgroups and stay up, and systemd (Restart=always) starts watch again.
import type { Logger } from './logger.js';

// The exit status after an uncaught exception (EX_SOFTWARE, sysexits.h).
export const EXIT_INTERNAL = 70;

// The two handlers, separate from installing them so tests can call them directly.
export function guardHandlers(
  log: Logger,
  exit: (code: number) => void,
): { onRejection: (reason: unknown) => void; onException: (e: unknown) => void } {
  const onRejection = (reason: unknown): void => {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    log.error({ err }, `unhandled promise rejection (watch keeps running): ${err.message.split('\n')[0]}`);
  };
  const onException = (e: unknown): void => {
    const err = e instanceof Error ? e : new Error(String(e));
    log.fatal(
      { err },
      `uncaught exception, exiting because watch's state may be corrupt (managed and healed daemons stay up): ${err.message.split('\n')[0]}`,
    );
    exit(EXIT_INTERNAL);
  };
  return { onRejection, onException };
}

// Install the handlers once; returns a function that removes them.
export function installProcessGuard(log: Logger, exit: (code: number) => void = (c) => process.exit(c)): () => void {
  const { onRejection, onException } = guardHandlers(log, exit);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
