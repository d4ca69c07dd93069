// Where a remount recipe comes from, best first (heal issue, "Recipes"): enotconn's config, the
// recorded store, /etc/fstab, a systemd unit, and last a recipe reconstructed from the mount table.
import { systemdEscapePath } from '../../host/daemon-launch.js';
import path from 'node:path';
import { FIXED_PATH, program } from '../../host/programs.js';
import type { Host } from '../../host/types.js';
import { readCmdline, readEnviron, readProcIds, readProcStat } from '../../host/proc.js';
import { optionValue, type MountInfo } from '../mountinfo/parse.js';
import { unescapeOctal, bytesToUtf8 } from '../mountinfo/unescape.js';
import { backendFor } from '../backends/index.js';
import type { Recipe } from './recipe.js';
import { existsBounded } from './path-check.js';
import { judgeDaemon } from './trust.js';

// Only these variables of the daemon's environment are kept: what a FUSE daemon needs to find its
// keys, agent and config. Secrets passed in the environment (RCLONE_CONFIG_PASS, AWS_*) are not stored.
export const ENV_KEEP: readonly string[] = [
  'HOME',
  'USER',
  'LOGNAME',
  'PATH',
  'SSH_AUTH_SOCK',
  'RCLONE_CONFIG',
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'KRB5CCNAME',
];

// The PATH a recipe records: the fixed one (programs.ts). Root's children never take PATH from a recipe.
export const DEFAULT_PATH = FIXED_PATH;

// Keep only the variables in ENV_KEEP.
export function filterEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ENV_KEEP) if (env[k] !== undefined) out[k] = env[k];
  return out;
}

// A path under the host root (/etc/fstab of a fixture tree lives under its root).
function etc(host: Host, ...parts: string[]): string {
  return path.join(host.root || '/', 'etc', ...parts);
}

// The login name and home of a uid, from /etc/passwd.
export async function lookupUser(host: Host, uid: number): Promise<{ name: string; home: string } | null> {
  const text = await host.readText(etc(host, 'passwd'));
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && Number(f[2]) === uid && f[2] !== '') return { name: f[0]!, home: f[5]! };
  }
  return null;
}

// The recipe of a live daemon, read from /proc: argv, real uid/gid, cwd and the needed environment.
export async function recipeFromProcess(
  host: Host,
  mount: MountInfo,
  pid: number,
): Promise<{ recipe: Recipe; daemonStart: number | null } | null> {
  const [argv, ids, stat, cwd, env] = await Promise.all([
    readCmdline(host, pid),
    readProcIds(host, pid),
    readProcStat(host, pid),
    host.readLink(host.proc(pid, 'cwd')),
    readEnviron(host, pid),
  ]);
  if (!argv || argv.length === 0 || !ids) return null;
  const user = await lookupUser(host, ids.uid);
  const backend = backendFor(mount, { daemonArgv: argv });
  // A daemon whose mountpoint moved (its parent renamed) still names the old path: point the recipe
  // at the path the kernel shows now, which is where the remount must go.
  const recordedCwd = cwd !== null && cwd.startsWith('/') ? bytesToUtf8(cwd) : null;
  const anchored = anchorRelativeArgs(argv, recordedCwd, mount);
  const moved = movedArgv(anchored.argv, mount);
  const trust = await judgeDaemon(host, mount, pid, ids.uid);
  const recipe: Recipe = {
    mountpoint: mount.mountpoint,
    source: mount.source,
    fstype: mount.fstype,
    backend: backend?.name ?? null,
    argv: moved?.argv ?? anchored.argv,
    uid: ids.uid,
    gid: ids.gid,
    cwd: recordedCwd,
    env: env ? filterEnv(env) : {},
    origin: 'recorded',
    recordedAt: new Date(host.now()).toISOString(),
    missing: [
      ...(env ? [] : ['environment (not readable: run as root or as the owner)']),
      ...(moved ? [`the daemon was started on ${moved.from}; the mountpoint has moved to ${mount.mountpoint}`] : []),
      ...anchored.notes,
    ],
    ...(moved ? { movedFrom: moved.from } : {}),
    ...(user ? { user: user.name } : {}),
    pid,
    trust,
  };
  return { recipe, daemonStart: stat?.startTicks ?? null };
}

// Turn a recorded foreground argv into one that detaches once the mount is up. Why: heal must not
// wait on a foreground daemon forever, nor keep it as its child. libfuse daemons (sshfs, bindfs)
// without -f mount first and then daemonize, so the command returns when the mount is ready;
// `rclone mount --daemon` waits for the mount before its parent exits (rclone docs, "--daemon-wait").
export function detachArgv(argv: readonly string[]): string[] {
  const prog = path.basename(argv[0] ?? '');
  if (prog === 'mount' || prog === 'systemctl' || prog.startsWith('mount.')) return [...argv];
  if (prog === 'rclone') {
    return argv.includes('--daemon') ? [...argv] : [...argv, '--daemon'];
  }
  // -f (foreground) and -d (debug, which implies foreground) keep a libfuse daemon attached.
  return argv.filter((a, i) => i === 0 || (a !== '-f' && a !== '-d' && a !== '--foreground' && a !== '--debug'));
}

// Split an fstab or mountinfo field's octal escapes (\040 for a space).
function unescapeField(s: string): string {
  return bytesToUtf8(unescapeOctal(s));
}

// The /etc/fstab entry for a mountpoint, as a recipe: `mount <mountpoint>` run as root.
export async function fstabRecipe(host: Host, mount: MountInfo): Promise<Recipe | null> {
  const text = await host.readText(etc(host, 'fstab'));
  if (!text) return null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    if (f.length < 3) continue;
    const mp = unescapeField(f[1]!).replace(/(.)\/+$/, '$1');
    if (mp !== mount.mountpoint) continue;
    return {
      mountpoint: mount.mountpoint,
      source: unescapeField(f[0]!),
      fstype: f[2]!,
      backend: backendFor(mount)?.name ?? null,
      // Given only the mountpoint, mount(8) takes source, type and options from /etc/fstab.
      argv: ['mount', mount.mountpoint],
      uid: 0,
      gid: 0,
      cwd: null,
      env: { PATH: DEFAULT_PATH },
      origin: 'fstab',
      recordedAt: null,
      missing: [],
    };
  }
  return null;
}

// systemd's unit name for a path (systemd-escape --path), one implementation for heal and watch.
export { systemdEscapePath };

const UNIT_DIRS = ['etc/systemd/system', 'run/systemd/system', 'usr/lib/systemd/system', 'lib/systemd/system'];

// A systemd .mount unit named for the mountpoint, or a .service whose ExecStart names it, when
// systemd runs this host (/run/systemd/system exists: sd_booted(3)).
export async function systemdRecipe(host: Host, mount: MountInfo): Promise<Recipe | null> {
  const root = host.root || '/';
  if (!(await host.fileExists(path.join(root, 'run/systemd/system')))) return null;
  const mountUnit = `${systemdEscapePath(mount.mountpoint)}.mount`;
  let unit: string | null = null;
  for (const dir of UNIT_DIRS) {
    if (await host.fileExists(path.join(root, dir, mountUnit))) {
      unit = mountUnit;
      break;
    }
  }
  if (!unit) {
    for (const dir of UNIT_DIRS.slice(0, 2)) {
      for (const name of (await host.readDir(path.join(root, dir))) ?? []) {
        if (!name.endsWith('.service')) continue;
        const text = (await host.readText(path.join(root, dir, name), 65536)) ?? '';
        const exec = text.split('\n').filter((l) => /^\s*ExecStart\s*=/.test(l));
        if (exec.some((l) => l.split(/\s+/).some((w) => w.replace(/\/+$/, '') === mount.mountpoint))) {
          unit = name;
          break;
        }
      }
      if (unit) break;
    }
  }
  if (!unit) return null;
  return {
    mountpoint: mount.mountpoint,
    source: mount.source,
    fstype: mount.fstype,
    backend: backendFor(mount)?.name ?? null,
    argv: ['systemctl', 'restart', unit],
    uid: 0,
    gid: 0,
    cwd: null,
    env: { PATH: DEFAULT_PATH },
    origin: 'systemd',
    recordedAt: null,
    missing: [],
    unit,
  };
}

const NFS_KEEP = ['vers', 'proto', 'port', 'hard', 'soft', 'timeo', 'retrans', 'sec', 'rsize', 'wsize', 'nconnect'];
const CIFS_KEEP = ['vers', 'username', 'domain', 'uid', 'gid', 'file_mode', 'dir_mode', 'sec', 'port', 'cache'];

function keepOptions(options: readonly string[], keys: readonly string[]): string[] {
  return options.filter((o) => keys.includes(o.split('=')[0]!));
}

// Rebuild a recipe from the mount table alone: the usual case on first contact. It is flagged
// 'reconstructed' and names what mountinfo cannot show. Null when the backend cannot be rebuilt.
export async function reconstructRecipe(
  host: Host,
  mount: MountInfo,
  daemonArgv: readonly string[] | null = null,
): Promise<Recipe | null> {
  const backend = backendFor(mount, { daemonArgv });
  const isFuse = mount.type === 'fuse' || mount.type === 'fuseblk';
  const uid = isFuse ? Number(optionValue(mount.superOptions, 'user_id') ?? '0') : 0;
  const gid = isFuse ? Number(optionValue(mount.superOptions, 'group_id') ?? '0') : 0;
  const ro = mount.options.includes('ro') || mount.superOptions.includes('ro');
  const fuseOpts = mount.superOptions.filter((o) => o === 'allow_other' || o === 'allow_root');
  // The mount's security options are kept (DESIGN §7): libfuse passes them to mount(2) as given.
  const secure = SECURITY_OPTIONS.filter((o) => o !== 'ro' && mount.options.includes(o));
  const mp = mount.mountpoint;
  let argv: string[];
  let missing: string[];
  let name = backend?.name;
  const guesses: string[] = [];
  // A bare `fuse` mount of a local directory, with its daemon gone: bindfs mounts exactly like that
  // (fsname = the source directory, no subtype). Said so, since it is a guess.
  if (mount.fstype === 'fuse' && mount.source.startsWith('/') && (await existsBounded(host, mount.source))) {
    name = 'bindfs';
    guesses.push('the daemon program: a bare "fuse" mount of a local directory is assumed to be bindfs');
  }
  switch (name) {
    case 'sshfs': {
      // The port and key are only in the daemon's argv; its ssh child may outlive it and still show them.
      const ssh = await sshHint(host, mount, uid);
      // BatchMode: never prompt (there is no terminal); reconnect + keepalives: the runbook's
      // "remount with better options", so a dropped session does not kill the mount again.
      argv = [
        'sshfs',
        mount.source,
        mp,
        '-o',
        [
          ...(ro ? ['ro'] : []),
          ...secure,
          ...fuseOpts,
          ...(ssh?.port !== undefined ? [`port=${ssh.port}`] : []),
          ...(ssh?.identity !== undefined ? [`IdentityFile=${ssh.identity}`] : []),
          'reconnect',
          'ServerAliveInterval=15',
          'ServerAliveCountMax=3',
          'BatchMode=yes',
        ].join(','),
      ];
      missing = [
        ...(ssh
          ? [
              `port and IdentityFile taken from the surviving ssh process ${ssh.pid} of the dead daemon (a hint: checked before anything is unmounted)`,
            ]
          : []),
        ...(ssh?.identity === undefined ? ["IdentityFile (the owner's default keys and ~/.ssh/config are used)"] : []),
        ...(ssh?.port === undefined ? ['port (22 is assumed, unless ~/.ssh/config says otherwise)'] : []),
        'other ssh and sshfs options (-o ...)',
      ];
      break;
    }
    case 'rclone':
      argv = [
        'rclone',
        'mount',
        mount.source,
        mp,
        ...(ro ? ['--read-only'] : []),
        ...(fuseOpts.includes('allow_other') ? ['--allow-other'] : []),
        ...secure.flatMap((o) => ['-o', o]),
        '--daemon',
      ];
      missing = [
        '--config (the rclone.conf that defines the remote)',
        'rclone flags (--vfs-cache-mode, --dir-cache-time, ...)',
      ];
      break;
    case 'bindfs':
      // bindfs names its source in mountinfo only when the path is plain; otherwise it says "bindfs".
      if (!mount.source.startsWith('/')) return null;
      // bindfs adds allow_other by default; a mount that did not have it must not ask for it.
      argv = [
        'bindfs',
        ...(fuseOpts.includes('allow_other') ? [] : ['--no-allow-other']),
        ...(ro || secure.length > 0 ? ['-o', [...(ro ? ['ro'] : []), ...secure].join(',')] : []),
        mount.source,
        mp,
      ];
      missing = [...guesses, 'bindfs permission and ownership options (--perms, --force-user, --map, ...)'];
      break;
    case 'nfs': {
      const opts = [ro ? 'ro' : 'rw', ...secure, ...keepOptions(mount.superOptions, NFS_KEEP)];
      argv = ['mount', '-t', mount.fstype, '-o', opts.join(','), mount.source, mp];
      missing = ['options mountinfo does not show (bg, nofail, _netdev, ...)'];
      break;
    }
    case 'cifs': {
      const opts = [ro ? 'ro' : 'rw', ...secure, ...keepOptions(mount.superOptions, CIFS_KEEP)];
      argv = ['mount', '-t', mount.fstype, '-o', opts.join(','), mount.source, mp];
      missing = ['credentials (password= or credentials=FILE)', 'options mountinfo does not show'];
      break;
    }
    default:
      if (!isFuse || !mount.subtype) return null;
      // A FUSE subtype usually names its daemon program (fuse.s3fs → s3fs SOURCE MOUNTPOINT).
      argv = [
        mount.subtype,
        mount.source,
        mp,
        ...(ro || secure.length || fuseOpts.length
          ? ['-o', [...(ro ? ['ro'] : []), ...secure, ...fuseOpts].join(',')]
          : []),
      ];
      missing = ['every daemon option (only the program, source and mountpoint are known)'];
  }
  const user = await lookupUser(host, uid);
  const env: Record<string, string> = { PATH: DEFAULT_PATH };
  if (user) Object.assign(env, { HOME: user.home, USER: user.name, LOGNAME: user.name });
  const lost = lostOptions(mount, argv);
  if (lost.length > 0) missing.push(`mount options the rebuilt command may not set again: ${lost.join(',')}`);
  return {
    mountpoint: mp,
    source: mount.source,
    fstype: mount.fstype,
    backend: name ?? null,
    argv,
    uid,
    gid,
    cwd: null,
    env,
    origin: 'reconstructed',
    recordedAt: null,
    missing,
    ...(user ? { user: user.name } : {}),
  };
}

// The default config file `heal` reads managed mounts from (the watch config, issue 4).
export const DEFAULT_CONFIG_FILE = '/etc/enotconn/config.yaml';

// A mount declared in enotconn's own config (`managed:` in the watch config), as a recipe.
export async function configRecipe(host: Host, mount: MountInfo, configFile?: string): Promise<Recipe | null> {
  const file = configFile ?? path.join(host.root || '/', DEFAULT_CONFIG_FILE);
  const text = await host.readText(file);
  if (text === null) return null;
  const { parseConfig } = await import('../../watch/config.js');
  let managed: Array<{
    argv: string[];
    mountpoint: string;
    owner?: { uid: number; gid?: number | undefined } | undefined;
    env: Record<string, string>;
    cwd?: string | undefined;
  }>;
  try {
    managed = parseConfig(text, file).managed;
  } catch {
    return null; // a malformed config is reported by `enotconn watch` and `lint`, not here
  }
  const m = managed.find((e) => e.mountpoint.replace(/(.)\/+$/, '$1') === mount.mountpoint);
  if (!m) return null;
  const uid = m.owner?.uid ?? 0;
  const user = await lookupUser(host, uid);
  const gid = m.owner?.gid ?? (await passwdGid(host, uid)) ?? 0;
  return {
    mountpoint: mount.mountpoint,
    source: mount.source,
    fstype: mount.fstype,
    backend: backendFor(mount, { daemonArgv: m.argv })?.name ?? null,
    argv: [...m.argv],
    uid,
    gid,
    cwd: m.cwd ?? null,
    env: {
      PATH: DEFAULT_PATH,
      ...(user ? { HOME: user.home, USER: user.name, LOGNAME: user.name } : {}),
      ...m.env,
    },
    origin: 'config',
    recordedAt: null,
    missing: [],
    ...(user ? { user: user.name } : {}),
  };
}

async function passwdGid(host: Host, uid: number): Promise<number | null> {
  const text = await host.readText(etc(host, 'passwd'));
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && f[2] !== '' && Number(f[2]) === uid) return Number(f[3]);
  }
  return null;
}

// Per-mount options a rebuilt recipe must keep (DESIGN §7): losing one weakens the mount.
export const SECURITY_OPTIONS: readonly string[] = ['ro', 'nosuid', 'nodev', 'noexec'];

// Options the kernel shows that no argv word of the rebuilt recipe names (said, never guessed at).
// FUSE's own bookkeeping (user_id, group_id, rootmode, fd) is set by the daemon itself.
function lostOptions(mount: MountInfo, argv: readonly string[]): string[] {
  const implied = new Set([
    'rw',
    'relatime',
    'user_id',
    'group_id',
    'rootmode',
    'fd',
    'default_permissions',
    'allow_other',
    'allow_root',
    'nosuid',
    'nodev',
  ]);
  const words = argv.flatMap((a) => a.split(','));
  return [...new Set([...mount.options, ...mount.superOptions])].filter((o) => {
    const key = o.split('=')[0]!;
    return !implied.has(key) && !words.some((w) => w === o || w.split('=')[0] === key || w === `--${key}`);
  });
}

// The ssh client an sshfs daemon started (`ssh ... -p PORT -oIdentityFile=KEY ... HOST -s sftp`),
// still alive after the daemon died, run by the mount's owner and naming the mount's host. Its argv is
// a hint (the remount runs as the owner and is checked before anything is unmounted), never proof.
export async function sshHint(
  host: Host,
  mount: MountInfo,
  uid: number,
): Promise<{ pid: number; port?: number; identity?: string } | null> {
  const m = /^(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+):/.exec(mount.source);
  if (!m) return null;
  const target = m[1] ? `${m[1]}@${m[2]}` : m[2]!;
  for (const pid of await host.listPids()) {
    const argv = await readCmdline(host, pid);
    if (!argv || path.basename(argv[0] ?? '') !== 'ssh' || !argv.includes('sftp') || !argv.includes(target)) continue;
    const ids = await readProcIds(host, pid);
    if (!ids || ids.uid !== uid) continue;
    const out: { pid: number; port?: number; identity?: string } = { pid };
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      const next = argv[i + 1];
      if (a === '-p' && next && /^\d+$/.test(next)) out.port = Number(next);
      if (a === '-i' && next) out.identity = next;
      const o = /^-o(?:\s*)(\w+)=(.*)$/.exec(a) ?? (a === '-o' && next ? /^(\w+)=(.*)$/.exec(next) : null);
      if (o) {
        const k = (o[1] ?? '').toLowerCase();
        const v = o[2] ?? '';
        if (k === 'port' && /^\d+$/.test(v)) out.port = Number(v);
        if (k === 'identityfile') out.identity = v;
      }
    }
    return out;
  }
  return null;
}

export interface Preflight {
  ok: boolean;
  reason: string;
  notes: string[];
}

// Check, before anything is unmounted, that the remount can work: an sshfs endpoint that accepts a
// TCP connection and, for a rebuilt recipe, lets the owner log in without a prompt. What cannot be
// checked is said in the notes.
export async function preflightRecipe(host: Host, recipe: Recipe, mount: MountInfo): Promise<Preflight> {
  const notes: string[] = [];
  const prog = path.basename(recipe.argv[0] ?? '');
  // A rebuilt CIFS recipe without credentials is refused earlier (prepare.ts remountImpossible).
  if (prog !== 'sshfs') return { ok: true, reason: '', notes };
  const ep = sshEndpoint(recipe.argv, mount.source);
  if (!ep)
    return { ok: true, reason: '', notes: ['the sshfs endpoint could not be read from the recipe; not checked'] };
  const tcp = await host.tcpConnect(ep.host, ep.port, 3000);
  if (!tcp.ok) {
    return {
      ok: false,
      reason: `${ep.host}:${ep.port} does not accept a TCP connection (${tcp.errno})${recipe.origin === 'reconstructed' ? '; the recipe is rebuilt from the mount table and the real port may differ' : ''}`,
      notes,
    };
  }
  if (recipe.origin !== 'reconstructed') return { ok: true, reason: '', notes };
  // A login as the owner, with the recipe's own ssh options and no prompt: it ends at once (stdin is
  // empty), with 0 when the key is accepted and 255 when it is not.
  const sshOpts = recipe.argv.flatMap((a) => a.split(',')).filter((o) => /^[A-Z][A-Za-z]+=/.test(o));
  const { ownerCommand } = await import('./plan.js');
  const { resolvePlanPrograms } = await import('./prepare.js');
  const ssh = program('ssh');
  const args = [
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=5',
    ...sshOpts.flatMap((o) => ['-o', o]),
    '-p',
    String(ep.port),
    '-s',
    '--',
    ep.login,
    'sftp',
  ];
  // As the owner (setpriv), root-owned ssh by absolute path, in the clean environment of the remount.
  const user = await lookupUser(host, recipe.uid);
  const argv = ownerCommand(recipe, ssh, args, {
    selfUid: host.uid(),
    programs: resolvePlanPrograms(),
    home: user?.home ?? null,
    cwd: null,
  });
  const r = await host.exec(argv, { timeoutMs: 10_000, input: '' });
  if (r.code !== 0) {
    const why =
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .at(-1) ?? `exit ${r.code ?? r.signal}`;
    return {
      ok: false,
      reason: `the owner (uid ${recipe.uid}) cannot log in to ${ep.login} port ${ep.port} without a prompt: ${why}; the credentials are missing from the rebuilt recipe`,
      notes,
    };
  }
  notes.push(`checked first: uid ${recipe.uid} logs in to ${ep.login} port ${ep.port} without a prompt`);
  return { ok: true, reason: '', notes };
}

// host, port and login of an sshfs argv: port from -p N, -o port=N or -oPort=N; 22 otherwise.
export function sshEndpoint(
  argv: readonly string[],
  source: string,
): { host: string; port: number; login: string } | null {
  const m = /^(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+):/.exec(source);
  if (!m) return null;
  let port = 22;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-p' && /^\d+$/.test(argv[i + 1] ?? '')) port = Number(argv[i + 1]);
    const opts = a === '-o' ? (argv[i + 1] ?? '').split(',') : a.startsWith('-o') ? a.slice(2).split(',') : [];
    for (const o of opts) {
      const pm = /^port=(\d+)$/i.exec(o.trim());
      if (pm) port = Number(pm[1]);
    }
  }
  const hostName = m[2]!.replace(/^\[|\]$/g, '');
  return { host: hostName, port, login: m[1] ? `${m[1]}@${hostName}` : hostName };
}

// argv with every word naming `from` (the old mountpoint) replaced by `to`; null when none does.
export function retargetArgv(argv: readonly string[], from: string, to: string): string[] | null {
  const norm = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  let hit = false;
  const out = argv.map((a, i) => {
    if (i > 0 && norm(a) === norm(from)) {
      hit = true;
      return to;
    }
    return a;
  });
  return hit ? out : null;
}

// A daemon started with relative paths (`cd /srv && bindfs data mnt`) may have changed directory
// since: libfuse's fuse_daemonize() chdirs to "/", and bindfs chdirs into its source. Its cwd then
// no longer gives those paths their meaning, and replaying the argv from it would mount somewhere
// else (or fail after the dead mount was taken down). A relative positional argument that does
// not resolve, from the recorded cwd, to the mountpoint or the (absolute) source, but is the tail
// of exactly one of them, is replaced by that absolute path, and the recipe says so.
export function anchorRelativeArgs(
  argv: readonly string[],
  cwd: string | null,
  mount: Pick<MountInfo, 'mountpoint' | 'source'>,
): { argv: string[]; notes: string[] } {
  const norm = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  const targets = [mount.mountpoint, ...(mount.source.startsWith('/') ? [norm(mount.source)] : [])];
  const notes: string[] = [];
  const out = argv.map((a, i) => {
    if (i === 0 || a === '' || a.startsWith('-') || a.startsWith('/') || a.includes(':') || a.includes('=')) return a;
    if (/^-[opFlu]$/.test(argv[i - 1] ?? '')) return a; // an option's value, not a path
    const rel = norm(a);
    if (rel.split('/').some((c) => c === '..' || c === '.')) return a;
    if (cwd !== null && targets.includes(path.resolve(cwd, rel))) return a; // still means what it meant
    const fits = targets.filter((t) => t.endsWith(`/${rel}`));
    if (fits.length !== 1) return a;
    notes.push(
      `argument ${a} named a path relative to the directory the daemon started in; it has changed directory since (now ${cwd ?? 'unknown'}), so the recipe names ${fits[0]}`,
    );
    return fits[0]!;
  });
  return { argv: out, notes };
}

// When a daemon's argv does not name the mount's current path but names exactly one other absolute
// positional path besides the source, that was its mountpoint before a move: the argv retargeted.
function movedArgv(argv: readonly string[], mount: MountInfo): { argv: string[]; from: string } | null {
  const norm = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  if (argv.slice(1).some((a) => norm(a) === mount.mountpoint)) return null;
  const positional = argv
    .slice(1)
    .filter((a, i, all) => a.startsWith('/') && norm(a) !== norm(mount.source) && !/^-[opFlu]$/.test(all[i - 1] ?? ''));
  if (positional.length !== 1) return null;
  const from = norm(positional[0]!);
  const out = retargetArgv(argv, from, mount.mountpoint);
  return out ? { argv: out, from } : null;
}
