import type { MountInfo } from '../mountinfo/parse.js';

// Where a mount's data really lives, for the network check and for humans.
export interface Endpoint {
  kind: 'ssh' | 'nfs' | 'cifs' | 's3' | 'gcs' | 'azure' | 'rclone' | 'local' | 'other';
  host?: string;
  port?: number;
  user?: string;
  path?: string;
  bucket?: string;
  url?: string;
  // TCP ports worth a connect check, best first (ssh 22, NFS 2049 then 111, CIFS 445...).
  checkPorts: number[];
  display: string;
}

// What a backend may look at besides the mount table: the daemon's argv when it is known.
export interface BackendContext {
  daemonArgv: readonly string[] | null;
}

// Each backend is plain data plus functions, listed explicitly in backends/index.ts.
export interface Backend {
  name: string;
  kind: 'fuse' | 'network';
  // Basenames of the daemon's argv[0] (or comm) that identify it when the fstype is a bare `fuse`.
  daemonNames: readonly string[];
  matches(m: MountInfo, ctx: BackendContext): boolean;
  endpoint(m: MountInfo, ctx: BackendContext): Endpoint | null;
}

// True when the daemon argv's program basename is one of `names`.
export function daemonIs(ctx: BackendContext, names: readonly string[]): boolean {
  const argv0 = ctx.daemonArgv?.[0];
  if (!argv0) return false;
  const base = argv0.slice(argv0.lastIndexOf('/') + 1);
  return names.includes(base);
}

// The value given to a long or short flag in argv (`--flag value`, `--flag=value`, `-o a=b,c`).
export function argvFlag(argv: readonly string[] | null, flag: string): string | undefined {
  if (!argv) return undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === flag) return argv[i + 1];
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  }
  return undefined;
}

// All `-o` option strings in argv, split on commas (`-o a,b -o c` and `-oa,b`).
export function argvOptions(argv: readonly string[] | null): string[] {
  if (!argv) return [];
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-o' && argv[i + 1] !== undefined) out.push(...argv[i + 1]!.split(','));
    else if (a.startsWith('-o') && a.length > 2) out.push(...a.slice(2).split(','));
  }
  return out.filter((o) => o !== '');
}
