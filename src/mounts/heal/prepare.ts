// What a plan needs that only the host can tell, read before planning so plan.ts stays pure:
// the absolute path of every program, the daemon program the recipe may run, the owner's home,
// whether the recipe's cwd is a plain directory, and whether the remount can work at all.
import path from 'node:path';
import { inTrustedDir, program, resolveTrusted, rootOwnedChain } from '../../host/programs.js';
import type { Host } from '../../host/types.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { checkPath } from './path-check.js';
import { KNOWN_DAEMONS } from '../backends/index.js';
import { childrenOf, sameSuperblock } from '../mountinfo/topology.js';
import { findFuseDaemonProof, readProcessTable } from '../process-table.js';
import { ownerCommand, withSecurityOptions, type PlanPrograms } from './plan.js';
import type { Recipe } from './recipe.js';
import { detachArgv, lookupUser, recipeFromProcess } from './recipes.js';
import type { ChildRemount } from './topology-plan.js';
import { recipeVerdict } from './trust.js';

export interface PlanContext {
  programs: PlanPrograms;
  daemonProgram: string | null;
  ownerHome: string | null;
  cwd: string | null;
  cannotRemount: string | null;
  notes: string[];
}

// Every program a plan runs, resolved once from the root-owned TRUSTED_DIRS.
export function resolvePlanPrograms(): PlanPrograms {
  return {
    setpriv: program('setpriv'),
    env: program('env'),
    umount: program('umount'),
    fusermount3: program('fusermount3'),
    mount: program('mount'),
    systemctl: program('systemctl'),
  };
}

// The program the remount runs: the recorded executable when it was proven root-owned, otherwise
// the recipe's program name looked up in TRUSTED_DIRS only. A binary elsewhere (~/bin/sshfs) is
// never run; null when no root-owned program of that name exists.
export function daemonProgramFor(recipe: Recipe): string | null {
  const argv0 = recipe.argv[0] ?? '';
  if (
    recipe.trust?.exeTrusted &&
    recipe.trust.exe !== null &&
    path.basename(recipe.trust.exe) === path.basename(argv0)
  ) {
    return resolveTrusted(recipe.trust.exe);
  }
  if (argv0.startsWith('/') && inTrustedDir(argv0)) return resolveTrusted(argv0);
  // enotconn's own config is root's word: an absolute program there may live elsewhere, as long as
  // it and every directory above it are root-owned and not writable by others.
  if (argv0.startsWith('/') && recipe.origin === 'config') return rootOwnedChain(argv0) ? argv0 : null;
  const base = path.basename(argv0);
  return base === '' || base === '.' || base === '..' ? null : resolveTrusted(base);
}

// Why a recipe's remount cannot work, before anything is unmounted.
export function remountImpossible(recipe: Recipe): string | null {
  if (recipe.backend === 'cifs' && recipe.origin === 'reconstructed') {
    const o = recipe.argv[recipe.argv.indexOf('-o') + 1] ?? '';
    const opts = o.split(',');
    const hasCreds = opts.some(
      (x) => x.startsWith('credentials=') || x.startsWith('password=') || x === 'guest' || /^sec=krb5/.test(x),
    );
    if (!hasCreds) {
      return 'the CIFS recipe rebuilt from the mount table has no credentials (password= or credentials=FILE): the remount would fail';
    }
  }
  return null;
}

// Read everything plan.ts needs about this recipe.
export async function preparePlan(host: Host, mount: MountInfo, recipe: Recipe | null): Promise<PlanContext> {
  const programs = resolvePlanPrograms();
  const notes: string[] = [];
  if (!recipe) return { programs, daemonProgram: null, ownerHome: null, cwd: null, cannotRemount: null, notes };
  const daemonProgram = recipe.origin === 'systemd' ? programs.systemctl : daemonProgramFor(recipe);
  const user = await lookupUser(host, recipe.uid);
  let cwd: string | null = null;
  const mp = mount.mountpoint;
  if (recipe.cwd !== null && recipe.cwd !== '/' && recipe.cwd !== mp && !recipe.cwd.startsWith(`${mp}/`)) {
    // Checked through a child with a deadline: the cwd is a user's choice and may be on a hung mount.
    const c = await checkPath(host, recipe.cwd, { includeLast: true, timeoutMs: 1000 });
    if (c.ok) cwd = recipe.cwd;
    else notes.push(`the recorded working directory is not used (${c.detail}); the remount runs in /`);
  }
  return {
    programs,
    daemonProgram,
    ownerHome: user?.home ?? null,
    cwd,
    cannotRemount: remountImpossible(recipe),
    notes,
  };
}

// For each FUSE child of `target` (other filesystems), its remount from the live daemon that holds
// its connection (proof by fdinfo only), run as that daemon's user through setpriv, with the
// daemon's program resolved to a root-owned binary and a clean environment, exactly as heal's own
// remount. Children without one (no proof, an untrusted recipe without --force, a program that is
// not root-owned) are left out, and heal then refuses before unmounting anything.
export async function childRemounts(
  host: Host,
  mounts: readonly MountInfo[],
  target: MountInfo,
  opts: { selfUid: number; programs: PlanPrograms; force: boolean },
): Promise<ChildRemount[]> {
  const kids = childrenOf(mounts, target).filter(
    (c) => !sameSuperblock(c, target) && (c.type === 'fuse' || c.type === 'fuseblk'),
  );
  if (kids.length === 0) return [];
  const table = await readProcessTable(host);
  const out: ChildRemount[] = [];
  for (const child of kids) {
    const found = await findFuseDaemonProof(host, child, table, KNOWN_DAEMONS);
    if (!found || found.proof !== 'fdinfo') continue;
    const got = await recipeFromProcess(host, child, found.process.pid);
    if (!got || got.recipe.movedFrom !== undefined) continue;
    const recipe = got.recipe;
    if (!recipeVerdict(recipe, child).trusted && !opts.force) continue;
    const prog = daemonProgramFor(recipe);
    if (prog === null) continue;
    const user = await lookupUser(host, recipe.uid);
    const args = withSecurityOptions(detachArgv(recipe.argv), child).slice(1);
    out.push({
      child,
      step: {
        action: 'remount',
        argv: ownerCommand(recipe, prog, args, {
          selfUid: opts.selfUid,
          programs: opts.programs,
          home: user?.home ?? null,
          cwd: null,
        }),
        runAs: recipe.uid,
        timeoutMs: 30_000,
        risk: 'safe',
        why: `mount the child ${child.mountpoint} again with the argv of its live daemon (pid ${found.process.pid}, which holds its FUSE connection), as uid ${recipe.uid}`,
        phase: 'after-remount',
      },
    });
  }
  return out;
}
