// Where a remount recipe comes from, best first (heal issue, "Recipes"): enotconn's config, the
// recorded store, /etc/fstab, a systemd unit, and last a recipe reconstructed from the mount table.
import path from 'node:path';
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

// The default PATH a remount runs with when the recipe has none.
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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
  const trust = await judgeDaemon(host, mount, pid, ids.uid);
  const recipe: Recipe = {
    mountpoint: mount.mountpoint,
    source: mount.source,
    fstype: mount.fstype,
    backend: backend?.name ?? null,
    argv,
    uid: ids.uid,
    gid: ids.gid,
    cwd: cwd !== null && cwd.startsWith('/') ? bytesToUtf8(cwd) : null,
    env: env ? filterEnv(env) : {},
    origin: 'recorded',
    recordedAt: new Date(host.now()).toISOString(),
    missing: env ? [] : ['environment (not readable: run as root or as the owner)'],
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

// systemd's unit name for a path (systemd-escape --path): "/mnt/my data" → "mnt-my\x20data".
export function systemdEscapePath(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, '').replace(/\/+/g, '/');
  if (trimmed === '') return '-';
  return [...Buffer.from(trimmed, 'utf8')]
    .map((b, i) => {
      const c = String.fromCharCode(b);
      if (c === '/') return '-';
      if (/[A-Za-z0-9:_]/.test(c) || (c === '.' && i > 0)) return c;
      return `\\x${b.toString(16).padStart(2, '0')}`;
    })
    .join('');
}

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
    case 'sshfs':
      // BatchMode: never prompt (there is no terminal); reconnect + keepalives: the runbook's
      // "remount with better options", so a dropped session does not kill the mount again.
      argv = [
        'sshfs',
        mount.source,
        mp,
        '-o',
        [
          ...(ro ? ['ro'] : []),
          ...fuseOpts,
          'reconnect',
          'ServerAliveInterval=15',
          'ServerAliveCountMax=3',
          'BatchMode=yes',
        ].join(','),
      ];
      missing = ['IdentityFile', 'port (-p)', 'other ssh and sshfs options (-o ...)'];
      break;
    case 'rclone':
      argv = [
        'rclone',
        'mount',
        mount.source,
        mp,
        ...(ro ? ['--read-only'] : []),
        ...(fuseOpts.includes('allow_other') ? ['--allow-other'] : []),
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
        ...(ro ? ['-o', 'ro'] : []),
        mount.source,
        mp,
      ];
      missing = [...guesses, 'bindfs permission and ownership options (--perms, --force-user, --map, ...)'];
      break;
    case 'nfs': {
      const opts = [ro ? 'ro' : 'rw', ...keepOptions(mount.superOptions, NFS_KEEP)];
      argv = ['mount', '-t', mount.fstype, '-o', opts.join(','), mount.source, mp];
      missing = ['options mountinfo does not show (bg, nofail, _netdev, ...)'];
      break;
    }
    case 'cifs': {
      const opts = [ro ? 'ro' : 'rw', ...keepOptions(mount.superOptions, CIFS_KEEP)];
      argv = ['mount', '-t', mount.fstype, '-o', opts.join(','), mount.source, mp];
      missing = ['credentials (password= or credentials=FILE)', 'options mountinfo does not show'];
      break;
    }
    default:
      if (!isFuse || !mount.subtype) return null;
      // A FUSE subtype usually names its daemon program (fuse.s3fs → s3fs SOURCE MOUNTPOINT).
      argv = [mount.subtype, mount.source, mp, ...(fuseOpts.length ? ['-o', fuseOpts.join(',')] : [])];
      missing = ['every daemon option (only the program, source and mountpoint are known)'];
  }
  const user = await lookupUser(host, uid);
  const env: Record<string, string> = { PATH: DEFAULT_PATH };
  if (user) Object.assign(env, { HOME: user.home, USER: user.name, LOGNAME: user.name });
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
