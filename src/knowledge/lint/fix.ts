import path from 'node:path';
import type { Host } from '../../host/types.js';
import { withOptions } from './fstab.js';
import { last, quoteExecArg, splitExec } from './systemd-unit.js';
import type { Change, Finding, LintTarget } from './types.js';

// A corrected fstab line, a systemd drop-in, or advice for a live mount (never written).
export type Fix =
  | { kind: 'fstab-line'; file: string; line: number; before: string; after: string; ids: string[] }
  | { kind: 'drop-in'; unit: string; path: string; content: string; ids: string[] }
  | { kind: 'advice'; mountpoint: string; text: string; ids: string[] };

export const DROP_IN_NAME = '50-enotconn-lint.conf';

// The fixes for each target's findings, one per target.
export function buildFixes(pairs: ReadonlyArray<{ target: LintTarget; findings: Finding[] }>): Fix[] {
  const out: Fix[] = [];
  for (const { target: t, findings } of pairs) {
    if (findings.length === 0) continue;
    const ids = findings.map((f) => f.id);
    const changes = findings.map((f) => f.change);
    if (t.source === 'fstab' && t.fstab && t.file) {
      const options = applyOptionChanges(t.fstab.options, changes);
      const after = withOptions(t.fstab, options);
      if (after !== t.fstab.raw)
        out.push({ kind: 'fstab-line', file: t.file, line: t.fstab.line, before: t.fstab.raw, after, ids });
    } else if (t.source === 'systemd' && t.unit) {
      const content = dropIn(t, changes, ids);
      if (content !== null) {
        out.push({
          kind: 'drop-in',
          unit: t.unit.name,
          path: path.join(path.dirname(t.unit.path), `${t.unit.name}.d`, DROP_IN_NAME),
          content,
          ids,
        });
      }
    } else {
      out.push({
        kind: 'advice',
        mountpoint: t.mountpoint,
        text: findings.map((f) => `${f.id}: ${f.fix}`).join('\n'),
        ids,
      });
    }
  }
  return out;
}

// Options with the changes applied: added ones appended, replaced ones swapped in place.
export function applyOptionChanges(options: readonly string[], changes: readonly Change[]): string[] {
  let out = [...options];
  for (const c of changes) {
    if (c.kind === 'add-options') for (const o of c.options) if (!out.includes(o)) out.push(o);
    if (c.kind === 'replace-option') out = out.map((o) => (o === c.from ? c.to : o));
  }
  return out;
}

function dropIn(t: LintTarget, changes: readonly Change[], ids: string[]): string | null {
  const u = t.unit!;
  const isMount = u.name.endsWith('.mount');
  const section = isMount ? 'Mount' : 'Service';
  const lines: string[] = [];
  for (const c of changes) if (c.kind === 'service') for (const [k, v] of c.directives) lines.push(`${k}=${v}`);
  const optionChanges = changes.filter((c) => c.kind === 'add-options' || c.kind === 'replace-option');
  if (optionChanges.length > 0) {
    if (isMount) {
      const current =
        last(u, 'Mount', 'Options')
          ?.value.split(',')
          .filter((o) => o !== '') ?? [];
      lines.push(`Options=${applyOptionChanges(current, optionChanges).join(',')}`);
    } else {
      // ExecStart= cannot be edited in place from a drop-in: reset it and give the whole new line.
      const start = last(u, 'Service', 'ExecStart');
      if (start) {
        const { prefixes, argv } = splitExec(start.value);
        const added = applyOptionChanges([], optionChanges);
        const flags = added.filter((o) => o.startsWith('--'));
        const opts = added.filter((o) => !o.startsWith('--'));
        const next = [argv[0]!, ...flags, ...(opts.length > 0 ? ['-o', opts.join(',')] : []), ...argv.slice(1)];
        lines.push('ExecStart=', `ExecStart=${prefixes}${next.map(quoteExecArg).join(' ')}`);
      }
    }
  }
  if (lines.length === 0) return null;
  return [`# Written by enotconn lint --fix (${ids.join(', ')})`, `[${section}]`, ...lines, ''].join('\n');
}

// Apply fixes to files: atomically (temp file + rename), keeping a backup of what was there.
// Returns the files written and their backups. Advice is never written.
export async function writeFixes(
  host: Host,
  fixes: readonly Fix[],
): Promise<Array<{ path: string; backup: string | null }>> {
  const written: Array<{ path: string; backup: string | null }> = [];
  const stamp = new Date(host.now()).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  // fstab: one write per file with every corrected line.
  const byFile = new Map<string, Array<Extract<Fix, { kind: 'fstab-line' }>>>();
  for (const f of fixes) if (f.kind === 'fstab-line') byFile.set(f.file, [...(byFile.get(f.file) ?? []), f]);
  for (const [file, lineFixes] of byFile) {
    const original = await host.readText(file);
    if (original === null) continue;
    const lines = original.split('\n');
    for (const f of lineFixes) if (lines[f.line - 1] === f.before) lines[f.line - 1] = f.after;
    const backup = `${file}.enotconn-${stamp}.bak`;
    await host.writeText(backup, original, { atomic: true });
    await host.writeText(file, lines.join('\n'), { atomic: true });
    written.push({ path: file, backup });
  }
  for (const f of fixes) {
    if (f.kind !== 'drop-in') continue;
    await host.mkdirp(path.dirname(f.path), 0o755);
    const existing = await host.readText(f.path);
    let backup: string | null = null;
    if (existing !== null) {
      backup = `${f.path}.enotconn-${stamp}.bak`;
      await host.writeText(backup, existing, { atomic: true });
    }
    // A drop-in written earlier stays in force: new directives are appended to it.
    await host.writeText(f.path, existing === null ? f.content : `${existing.replace(/\n*$/, '\n')}\n${f.content}`, {
      atomic: true,
    });
    written.push({ path: f.path, backup });
  }
  return written;
}
