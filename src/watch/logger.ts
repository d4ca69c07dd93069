// Structured logs for watch (pino): one JSON object a line on stdout.
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

// A pino logger writing JSON lines to stdout (or `fd`), named `enotconn-watch`.
export function createLogger(level: string, fd = 1): Logger {
  return pino(
    { name: 'enotconn-watch', level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd, sync: true }),
  );
}

// A logger that drops everything (unit tests, benchmarks).
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
