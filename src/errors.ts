// A tool failure is an error with a stable code; only cli/main.ts maps it to an exit status.
// Findings (a dead mount, a refused heal) are data, never EnotconnError.
export type ErrorCode =
  | 'ENC_USAGE' // bad flags or arguments
  | 'ENC_BAD_INPUT' // input that cannot be understood (errno, log line, duration)
  | 'ENC_NOT_A_MOUNT' // a path not under a network or FUSE mount
  | 'ENC_CONFIG' // malformed config file
  | 'ENC_NOT_FOUND' // a file or path that does not exist
  | 'ENC_PERMISSION' // the action needs privileges the process lacks
  | 'ENC_LOCKED' // another process holds a lock
  | 'ENC_NATIVE' // a native module (SQLite's addon) is missing or built for another Node
  | 'ENC_INTERNAL'; // a bug: reported, never hidden

// The one error type enotconn throws; `code` is stable and inspectable.
export class EnotconnError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EnotconnError';
  }
}

// True when `e` is an EnotconnError (across module copies, by shape).
export function isEnotconnError(e: unknown): e is EnotconnError {
  return e instanceof Error && e.name === 'EnotconnError' && typeof (e as { code?: unknown }).code === 'string';
}

// The errno code of a Node system error (`ENOENT`), or null.
export function errnoCode(e: unknown): string | null {
  if (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return null;
}
