import type { LintTarget } from '../types.js';

// True when `key` or `key=...` is among the target's options. ssh options (ServerAliveInterval)
// are case-insensitive (ssh_config(5)); mount options are not, but none of ours differ by case.
export function has(t: LintTarget, key: string, caseInsensitive = false): boolean {
  const k = caseInsensitive ? key.toLowerCase() : key;
  return t.options.some((o) => {
    const v = caseInsensitive ? o.toLowerCase() : o;
    return v === k || v.startsWith(`${k}=`);
  });
}

// How to describe where the option goes, per source.
export function where(t: LintTarget): string {
  if (t.source === 'fstab') return 'to the fstab options';
  if (t.source === 'live') return 'when remounting (and to the fstab entry or unit that mounts it)';
  return t.unit?.name.endsWith('.mount') ? 'to Options= in the unit' : 'as -o options in ExecStart=';
}
