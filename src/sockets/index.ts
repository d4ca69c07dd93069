// enotconn/sockets: classify socket errors and guard servers (README: docs/readme/sockets.md).
export { classifySocketError, type ClassifyContext, type SocketErrorClass } from './classify.js';
export {
  SOCKET_ERRNO_TABLE,
  SOCKET_ERROR_KINDS,
  socketErrnoEntry,
  meaningFor,
  retryableCodes,
  type CodeSource,
  type Meaning,
  type Side,
  type SocketErrnoEntry,
  type SocketErrorKind,
} from './errno-table.js';
export {
  guardServer,
  DEFAULT_IDLE_TIMEOUT_MS,
  SOCKET_ERRORS_METRIC,
  type GuardLogger,
  type GuardOptions,
  type GuardedError,
  type LogFn,
  type ServerGuard,
} from './guard.js';
