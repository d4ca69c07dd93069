// Recipe trust (DESIGN section 7): root runs a recipe only when it comes from a root-owned source
// (enotconn's config, /etc/fstab, a systemd unit), was rebuilt by enotconn itself from the mount
// table, or was recorded from a daemon proven to serve the mount, as its owner, from a root-owned
// binary. A recorded recipe that proves less is shown and needs --force.
import { inTrustedDir, resolveTrusted } from '../../host/programs.js';
import type { Host } from '../../host/types.js';
import { optionValue, type MountInfo } from '../mountinfo/parse.js';
import { daemonHoldsConnection, fuseConnectionOf } from '../process-table.js';
import type { DaemonTrust, Recipe } from './recipe.js';

// The owner of a FUSE mount as the kernel records it (user_id=), or null for other mounts.
export function mountOwner(mount: Pick<MountInfo, 'superOptions' | 'type'>): number | null {
  if (mount.type !== 'fuse' && mount.type !== 'fuseblk') return null;
  const v = optionValue(mount.superOptions, 'user_id');
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
}

// Judge a live daemon before its recipe is recorded: connection, owner and executable.
export async function judgeDaemon(host: Host, mount: MountInfo, pid: number, uid: number): Promise<DaemonTrust> {
  const reasons: string[] = [];
  const conn = await daemonHoldsConnection(host, pid, mount, mountOwner(mount));
  if (!conn.holds) {
    reasons.push(`it does not hold this mount's /dev/fuse connection ${fuseConnectionOf(mount)}: ${conn.detail}`);
  }
  const owner = mountOwner(mount);
  const ownerMatches = owner !== null && owner === uid;
  if (!ownerMatches) reasons.push(`it runs as uid ${uid}, but the mount belongs to user_id=${owner ?? '?'}`);
  const raw = await host.readLink(host.proc(pid, 'exe'));
  const exe = raw === null ? null : raw.replace(/ \(deleted\)$/, '');
  // Why only TRUSTED_DIRS are stat'ed: a path elsewhere (a home directory, another mount) is not
  // trusted whatever its owner, and looking at it could block on that mount.
  const exeTrusted = exe !== null && raw === exe && inTrustedDir(exe) && resolveTrusted(exe) === exe;
  if (!exeTrusted) {
    reasons.push(
      exe === null
        ? 'its executable cannot be read'
        : raw !== exe
          ? `its executable ${exe} was deleted or replaced since it started`
          : `its executable ${exe} is not a root-owned binary in /usr/sbin, /usr/bin, /sbin or /bin`,
    );
  }
  return { trusted: reasons.length === 0, holdsConnection: conn.holds, ownerMatches, exe, exeTrusted, reasons };
}

export interface RecipeVerdict {
  trusted: boolean;
  why: string;
}

// May root run this recipe without --force?
export function recipeVerdict(recipe: Recipe, mount: MountInfo): RecipeVerdict {
  switch (recipe.origin) {
    case 'config':
    case 'fstab':
    case 'systemd':
      return {
        trusted: true,
        why: `from ${recipe.origin === 'config' ? "enotconn's config" : recipe.origin}, a root-owned source`,
      };
    case 'reconstructed':
      return {
        trusted: true,
        why: 'rebuilt by enotconn from the mount table; its program is resolved from root-owned directories',
      };
    case 'recorded': {
      const t = recipe.trust;
      if (!t) return { trusted: false, why: 'recorded before enotconn checked who recorded daemons are' };
      if (!t.trusted) return { trusted: false, why: `its daemon was not proven: ${t.reasons.join('; ')}` };
      const owner = mountOwner(mount);
      if (owner !== null && owner !== recipe.uid) {
        return { trusted: false, why: `it runs as uid ${recipe.uid}, but the mount belongs to user_id=${owner}` };
      }
      return {
        trusted: true,
        why: `recorded from pid ${recipe.pid ?? '?'}, which held the mount's connection as its owner`,
      };
    }
  }
}
