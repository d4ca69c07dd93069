// Errno numbering and wording of the platforms other than Linux that users paste lines from.
// Hand-kept data, not generated: this host has no macOS or Windows headers to read. Sources:
// - macOS/BSD: xnu bsd/sys/errno.h (FreeBSD sys/errno.h shares numbers 1-70) and macOS strerror(3).
// - Windows Sockets: winerror.h WSA* codes and their FormatMessage texts (learn.microsoft.com,
//   "Windows Sockets Error Codes").
// - libuv on Windows: uv/errno.h UV__E* values (Node prints them as `errno: -4077`).

export type Platform = 'linux' | 'darwin' | 'windows';

// macOS/BSD: [name, number, strerror text]. 1-34 are numbered as on Linux, except EAGAIN (35 here,
// 11 on Linux) and EDEADLK (11 here, 35 on Linux).
export const DARWIN_ERRNOS: ReadonlyArray<readonly [string, number, string]> = [
  ['EDEADLK', 11, 'Resource deadlock avoided'],
  ['EAGAIN', 35, 'Resource temporarily unavailable'],
  ['EINPROGRESS', 36, 'Operation now in progress'],
  ['EALREADY', 37, 'Operation already in progress'],
  ['ENOTSOCK', 38, 'Socket operation on non-socket'],
  ['EDESTADDRREQ', 39, 'Destination address required'],
  ['EMSGSIZE', 40, 'Message too long'],
  ['EPROTOTYPE', 41, 'Protocol wrong type for socket'],
  ['ENOPROTOOPT', 42, 'Protocol not available'],
  ['EPROTONOSUPPORT', 43, 'Protocol not supported'],
  ['ESOCKTNOSUPPORT', 44, 'Socket type not supported'],
  ['EOPNOTSUPP', 45, 'Operation not supported'],
  ['EPFNOSUPPORT', 46, 'Protocol family not supported'],
  ['EAFNOSUPPORT', 47, 'Address family not supported by protocol family'],
  ['EADDRINUSE', 48, 'Address already in use'],
  ['EADDRNOTAVAIL', 49, "Can't assign requested address"],
  ['ENETDOWN', 50, 'Network is down'],
  ['ENETUNREACH', 51, 'Network is unreachable'],
  ['ENETRESET', 52, 'Network dropped connection on reset'],
  ['ECONNABORTED', 53, 'Software caused connection abort'],
  ['ECONNRESET', 54, 'Connection reset by peer'],
  ['ENOBUFS', 55, 'No buffer space available'],
  ['EISCONN', 56, 'Socket is already connected'],
  ['ENOTCONN', 57, 'Socket is not connected'],
  ['ESHUTDOWN', 58, "Can't send after socket shutdown"],
  ['ETOOMANYREFS', 59, "Too many references: can't splice"],
  ['ETIMEDOUT', 60, 'Operation timed out'],
  ['ECONNREFUSED', 61, 'Connection refused'],
  ['ELOOP', 62, 'Too many levels of symbolic links'],
  ['ENAMETOOLONG', 63, 'File name too long'],
  ['EHOSTDOWN', 64, 'Host is down'],
  ['EHOSTUNREACH', 65, 'No route to host'],
  ['ENOTEMPTY', 66, 'Directory not empty'],
  ['EDQUOT', 69, 'Disc quota exceeded'],
  ['ESTALE', 70, 'Stale NFS file handle'],
];

// macOS getaddrinfo codes (netdb.h): positive there, negative in glibc.
export const DARWIN_GAI: ReadonlyArray<readonly [string, number, string]> = [
  ['EAI_AGAIN', 2, 'Temporary failure in name resolution'],
  ['EAI_FAIL', 4, 'Non-recoverable failure in name resolution'],
  ['EAI_NODATA', 7, 'No address associated with nodename'],
  ['EAI_NONAME', 8, 'nodename nor servname provided, or not known'],
];

export interface WsaCode {
  code: string; // WSAECONNRESET
  number: number; // 10054
  errno: string; // the POSIX errno it stands for
  message: string; // FormatMessage, English
  // Hand-added translations of `message` (Windows display languages), keyed by locale. Not generated:
  // taken from Windows' own localized message tables as users paste them; a prefix is enough to match.
  translations?: Readonly<Record<string, string>>;
}

export const WSA_CODES: readonly WsaCode[] = [
  {
    code: 'WSAEINTR',
    number: 10004,
    errno: 'EINTR',
    message: 'A blocking operation was interrupted by a call to WSACancelBlockingCall.',
  },
  { code: 'WSAEBADF', number: 10009, errno: 'EBADF', message: 'The file handle supplied is not valid.' },
  {
    code: 'WSAEACCES',
    number: 10013,
    errno: 'EACCES',
    message: 'An attempt was made to access a socket in a way forbidden by its access permissions.',
  },
  { code: 'WSAEINVAL', number: 10022, errno: 'EINVAL', message: 'An invalid argument was supplied.' },
  { code: 'WSAEMFILE', number: 10024, errno: 'EMFILE', message: 'Too many open sockets.' },
  {
    code: 'WSAEWOULDBLOCK',
    number: 10035,
    errno: 'EAGAIN',
    message: 'A non-blocking socket operation could not be completed immediately.',
  },
  {
    code: 'WSAENOTSOCK',
    number: 10038,
    errno: 'ENOTSOCK',
    message: 'An operation was attempted on something that is not a socket.',
  },
  {
    code: 'WSAEADDRINUSE',
    number: 10048,
    errno: 'EADDRINUSE',
    message: 'Only one usage of each socket address (protocol/network address/port) is normally permitted.',
  },
  {
    code: 'WSAEADDRNOTAVAIL',
    number: 10049,
    errno: 'EADDRNOTAVAIL',
    message: 'The requested address is not valid in its context.',
  },
  { code: 'WSAENETDOWN', number: 10050, errno: 'ENETDOWN', message: 'A socket operation encountered a dead network.' },
  {
    code: 'WSAENETUNREACH',
    number: 10051,
    errno: 'ENETUNREACH',
    message: 'A socket operation was attempted to an unreachable network.',
  },
  {
    code: 'WSAENETRESET',
    number: 10052,
    errno: 'ENETRESET',
    message:
      'The connection has been broken due to keep-alive activity detecting a failure while the operation was in progress.',
  },
  {
    code: 'WSAECONNABORTED',
    number: 10053,
    errno: 'ECONNABORTED',
    message: 'An established connection was aborted by the software in your host machine.',
    translations: {
      zh_CN: '你的主机中的软件中止了一个已建立的连接。',
      de: 'Eine bestehende Verbindung wurde softwaregesteuert durch den Hostcomputer abgebrochen.',
      fr: 'Une connexion établie a été abandonnée par un logiciel de votre ordinateur hôte.',
      ru: 'Программа на вашем хост-компьютере разорвала установленное подключение.',
    },
  },
  {
    code: 'WSAECONNRESET',
    number: 10054,
    errno: 'ECONNRESET',
    message: 'An existing connection was forcibly closed by the remote host.',
    translations: {
      zh_CN: '远程主机强迫关闭了一个现有的连接。',
      de: 'Eine vorhandene Verbindung wurde vom Remotehost geschlossen.',
      fr: "Une connexion existante a dû être fermée par l'hôte distant.",
      es: 'Se ha forzado la interrupción de una conexión existente por el host remoto.',
      ru: 'Удаленный хост принудительно разорвал существующее подключение.',
      ja: '既存の接続はリモート ホストに強制的に切断されました。',
      ko: '현재 연결은 원격 호스트에 의해 강제로 끊겼습니다.',
      pt_BR: 'Foi forçado o cancelamento de uma conexão existente pelo host remoto.',
    },
  },
  {
    code: 'WSAENOBUFS',
    number: 10055,
    errno: 'ENOBUFS',
    message:
      'An operation on a socket could not be performed because the system lacked sufficient buffer space or because a queue was full.',
  },
  {
    code: 'WSAEISCONN',
    number: 10056,
    errno: 'EISCONN',
    message: 'A connect request was made on an already connected socket.',
  },
  {
    code: 'WSAENOTCONN',
    number: 10057,
    errno: 'ENOTCONN',
    message:
      'A request to send or receive data was disallowed because the socket is not connected and (when sending on a datagram socket using a sendto call) no address was supplied.',
  },
  {
    code: 'WSAESHUTDOWN',
    number: 10058,
    errno: 'ESHUTDOWN',
    message:
      'A request to send or receive data was disallowed because the socket had already been shut down in that direction with a previous shutdown call.',
  },
  {
    code: 'WSAETIMEDOUT',
    number: 10060,
    errno: 'ETIMEDOUT',
    message:
      'A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond.',
    translations: {
      zh_CN: '由于连接方在一段时间后没有正确答复或连接的主机没有反应，连接尝试失败。',
      de: 'Ein Verbindungsversuch ist fehlgeschlagen, da die Gegenstelle nach einer bestimmten Zeitspanne nicht richtig reagiert hat.',
      fr: "Une tentative de connexion a échoué car le parti connecté n'a pas répondu convenablement au-delà d'une certaine durée.",
      es: 'Se produjo un error durante el intento de conexión ya que la parte conectada no respondió adecuadamente tras un periodo de tiempo.',
      ru: 'Попытка установить соединение была безуспешной, т.к. от другого компьютера за требуемое время не получен нужный отклик.',
      ja: '接続済みの呼び出し先が一定の時間を過ぎても正しく応答しなかったため、接続できませんでした。',
    },
  },
  {
    code: 'WSAECONNREFUSED',
    number: 10061,
    errno: 'ECONNREFUSED',
    message: 'No connection could be made because the target machine actively refused it.',
    translations: {
      zh_CN: '由于目标计算机积极拒绝，无法连接。',
      de: 'Es konnte keine Verbindung hergestellt werden, da der Zielcomputer die Verbindung verweigerte.',
      fr: "Aucune connexion n'a pu être établie car l'ordinateur cible l'a expressément refusée.",
      es: 'No se puede establecer una conexión ya que el equipo de destino denegó expresamente dicha conexión.',
      ru: 'Подключение не установлено, т.к. конечный компьютер отверг запрос на подключение.',
      ja: '対象のコンピューターによって拒否されたため、接続できませんでした。',
      ko: '대상 컴퓨터에서 연결을 거부했으므로 연결하지 못했습니다.',
      pt_BR: 'Nenhuma conexão pôde ser feita porque a máquina de destino as recusou ativamente.',
    },
  },
  {
    code: 'WSAEHOSTDOWN',
    number: 10064,
    errno: 'EHOSTDOWN',
    message: 'A socket operation failed because the destination host was down.',
  },
  {
    code: 'WSAEHOSTUNREACH',
    number: 10065,
    errno: 'EHOSTUNREACH',
    message: 'A socket operation was attempted to an unreachable host.',
  },
  { code: 'WSAHOST_NOT_FOUND', number: 11001, errno: 'EAI_NONAME', message: 'No such host is known.' },
  {
    code: 'WSATRY_AGAIN',
    number: 11002,
    errno: 'EAI_AGAIN',
    message:
      'This is usually a temporary error during hostname resolution and means that the local server did not receive a response from an authoritative server.',
  },
  {
    code: 'WSANO_DATA',
    number: 11004,
    errno: 'EAI_NODATA',
    message: 'The requested name is valid, but no data of the requested type was found.',
  },
];

// libuv's own numbers (uv/errno.h): on Windows every UV_E* is its own negative number, and the
// resolver codes (UV_EAI_*) are the same on every platform. Node prints them as `errno: -4077`.
export const LIBUV_NUMBERS: ReadonlyArray<readonly [number, string, Platform | 'any']> = [
  [-4095, 'EOF', 'windows'],
  [-4091, 'EADDRINUSE', 'windows'],
  [-4090, 'EADDRNOTAVAIL', 'windows'],
  [-4088, 'EAGAIN', 'windows'],
  [-4083, 'EBADF', 'windows'],
  [-4082, 'EBUSY', 'windows'],
  [-4081, 'ECANCELED', 'windows'],
  [-4079, 'ECONNABORTED', 'windows'],
  [-4078, 'ECONNREFUSED', 'windows'],
  [-4077, 'ECONNRESET', 'windows'],
  [-4073, 'EHOSTUNREACH', 'windows'],
  [-4071, 'EINVAL', 'windows'],
  [-4070, 'EIO', 'windows'],
  [-4066, 'EMFILE', 'windows'],
  [-4063, 'ENETDOWN', 'windows'],
  [-4062, 'ENETUNREACH', 'windows'],
  [-4058, 'ENOENT', 'windows'],
  [-4055, 'ENOSPC', 'windows'],
  [-4053, 'ENOTCONN', 'windows'],
  [-4048, 'EPERM', 'windows'],
  [-4047, 'EPIPE', 'windows'],
  [-4042, 'ESHUTDOWN', 'windows'],
  [-4039, 'ETIMEDOUT', 'windows'],
  [-3001, 'EAI_AGAIN', 'any'],
  [-3004, 'EAI_FAIL', 'any'],
  [-3007, 'EAI_NODATA', 'any'],
  [-3008, 'EAI_NONAME', 'any'],
];

const darwinByName = new Map(DARWIN_ERRNOS.map(([n, num, msg]) => [n, { number: num, message: msg }]));
const darwinByNumber = new Map(DARWIN_ERRNOS.map(([n, num]) => [num, n]));
const wsaByNumber = new Map(WSA_CODES.map((w) => [w.number, w]));
const wsaByCode = new Map(WSA_CODES.map((w) => [w.code, w]));
const wsaByErrno = new Map(WSA_CODES.map((w) => [w.errno, w]));
const libuvByNumber = new Map(LIBUV_NUMBERS.map(([n, name, p]) => [n, { name, platform: p }]));

// The errno macOS numbers `n` (only where macOS differs from Linux: 11 and 35-70).
export function darwinName(n: number): string | null {
  return darwinByNumber.get(n) ?? null;
}

// macOS's number and wording for `name`, or null where they are Linux's.
export function darwinErrno(name: string): { number: number; message: string } | null {
  return darwinByName.get(name) ?? null;
}

// The Windows Sockets code numbered `n` (10054), or named `code` (WSAECONNRESET).
export function wsaByNumberOrCode(x: number | string): WsaCode | null {
  return (typeof x === 'number' ? wsaByNumber.get(x) : wsaByCode.get(x.toUpperCase())) ?? null;
}

// The Windows Sockets code that stands for a POSIX errno (ECONNRESET -> WSAECONNRESET).
export function wsaForErrno(name: string): WsaCode | null {
  return wsaByErrno.get(name) ?? null;
}

// libuv's meaning of a negative number Node printed (-4077 on Windows, -3008 anywhere).
export function libuvNumber(n: number): { name: string; platform: Platform | 'any' } | null {
  return libuvByNumber.get(n) ?? null;
}
