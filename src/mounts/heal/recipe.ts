// How to remount a mount: the argv and the identity to run it as (heal issue, "Recipes").
export type RecipeOrigin = 'config' | 'recorded' | 'fstab' | 'systemd' | 'reconstructed';

export interface Recipe {
  mountpoint: string;
  source: string;
  fstype: string;
  backend: string | null;
  argv: string[]; // the daemon or mount command, no shell
  uid: number; // the owner: the remount runs as this user, never as root on their behalf
  gid: number;
  cwd: string | null;
  env: Record<string, string>; // only what is needed: HOME, USER, SSH_AUTH_SOCK, RCLONE_CONFIG...
  origin: RecipeOrigin;
  recordedAt: string | null; // ISO
  missing: string[]; // what a reconstructed recipe may lack (IdentityFile, port, rclone flags)
  user?: string; // the owner's login name, when /etc/passwd knows it (setpriv --init-groups needs it)
  pid?: number; // origin 'recorded': the daemon it was read from (diagnose matches it against kmsg)
  unit?: string; // origin 'systemd': the unit that owns the mountpoint (restarted instead of argv)
  sample?: RecipeSample; // a file seen through the healthy mount, read back after a heal
  movedFrom?: string; // recorded on this mountpoint; the mount has moved since (its parent renamed)
  // origin 'recorded': what was proven about the daemon when it was recorded (DESIGN section 7).
  trust?: DaemonTrust;
}

// The three facts that make a recorded recipe trusted: its daemon held the mount's /dev/fuse
// connection, ran as the mount's owner (user_id=), and executed a root-owned binary that nobody
// else can write. Anything less and the recipe is shown, but run only with --force.
export interface DaemonTrust {
  trusted: boolean;
  holdsConnection: boolean;
  ownerMatches: boolean;
  exe: string | null; // /proc/PID/exe when recorded
  exeTrusted: boolean;
  reasons: string[]; // why it is not trusted (empty when trusted)
}

// A small file seen through the mount while it was healthy: heal reads it back to prove the content.
export interface RecipeSample {
  path: string; // relative to the mountpoint
  sha256: string;
  recordedAt: string; // ISO
}
