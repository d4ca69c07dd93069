import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';
import { writeFixes, type Fix } from '../knowledge/lint/fix.js';
import { hasProblems, runLint, type LintOptions, type LintReport } from '../knowledge/lint/lint.js';
import type { Finding } from '../knowledge/lint/types.js';
import { makeContext } from './context.js';
import { EXIT_OK, EXIT_PROBLEM } from './exit.js';
import { paint, useColour, type Colour } from './render.js';

interface LintFlags {
  fstab?: string;
  units?: string;
  live?: boolean;
  fix?: boolean;
  write?: boolean;
  json?: boolean;
}

// `enotconn lint`: prevention as checks over fstab, systemd units and the live mount table.
export function registerLint(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('lint')
    .description('check fstab, systemd units and live mounts against the prevention rules; --fix shows corrections')
    .option('--fstab <file>', 'fstab file to check (default /etc/fstab when no source is given)')
    .option('--units <dir>', 'systemd unit directory to check (default /etc/systemd/system when no source is given)')
    .option('--live', 'check the live mount table (sshfs options from the daemon argv)')
    .option('--fix', 'print a corrected fstab line or a systemd drop-in for each finding')
    .option('--write', 'with --fix: write the corrections (atomically, keeping a backup)')
    .option('--json', 'print JSON')
    .action((flags: LintFlags, cmd: Command) =>
      run(async () => {
        if (flags.write && !flags.fix)
          throw new EnotconnError('ENC_USAGE', '--write needs --fix (review the fixes first)');
        const any = flags.fstab !== undefined || flags.units !== undefined || flags.live === true;
        const opts: LintOptions = any
          ? { fstab: flags.fstab ?? null, units: flags.units ?? null, live: flags.live === true, explicit: true }
          : { fstab: '/etc/fstab', units: '/etc/systemd/system', live: false };
        const ctx = makeContext(cmd);
        try {
          const report = await runLint(ctx.host, opts);
          let written: Array<{ path: string; backup: string | null }> = [];
          let after: LintReport | null = null;
          if (flags.write) {
            written = await writeFixes(ctx.host, report.fixes);
            after = await runLint(ctx.host, opts); // the fixes, re-linted
          }
          const remaining = after ? after.findings : report.findings;
          if (flags.json) {
            const out = {
              ...report,
              ...(flags.fix ? {} : { fixes: undefined }),
              ...(flags.write ? { written, remaining } : {}),
            };
            ctx.out(JSON.stringify(out, null, 2));
          } else {
            ctx.out(renderLint(report, Boolean(flags.fix), useColour()));
            if (flags.write) ctx.out(renderWritten(written, remaining));
          }
          return hasProblems(remaining) ? EXIT_PROBLEM : EXIT_OK;
        } finally {
          ctx.host.close();
        }
      }),
    );
}

const SEVERITY_COLOUR: Record<Finding['severity'], Colour> = { error: 'red', warning: 'yellow', info: 'cyan' };

// Human report: each finding with where it was found, why it matters and the fix.
export function renderLint(r: LintReport, showFixes: boolean, colour: boolean): string {
  const out: string[] = [];
  const checked = r.sources.map(
    (s) => `${s.kind}${s.path ? ` ${s.path}` : ''} (${s.missing ? 'missing' : `${s.targets} mounts`})`,
  );
  out.push(`Checked: ${checked.join(', ')}`);
  if (r.findings.length === 0) {
    out.push('No findings: every network and FUSE mount follows the prevention rules.');
    return out.join('\n');
  }
  for (const f of r.findings) {
    const loc = f.file ? `${f.file}${f.line !== null ? `:${f.line}` : ''}` : f.source;
    out.push(
      '',
      `${paint(f.severity.toUpperCase().padEnd(7), SEVERITY_COLOUR[f.severity], colour)} ${f.id}  ${loc}`,
      `  ${f.message}`,
      `  found: ${visible(f.found)}`,
      `  why:   ${f.why}`,
      `  fix:   ${f.fix}`,
    );
  }
  const counts = (['error', 'warning', 'info'] as const).map(
    (s) => `${r.findings.filter((f) => f.severity === s).length} ${s}`,
  );
  out.push('', `${r.findings.length} findings: ${counts.join(', ')}`);
  if (showFixes) out.push('', renderFixes(r.fixes));
  else out.push('Run with --fix to see the corrected lines and drop-ins.');
  return out.join('\n');
}

function renderFixes(fixes: readonly Fix[]): string {
  if (fixes.length === 0) return 'No fixes to show.';
  const out: string[] = ['Fixes (nothing is changed without --write):'];
  for (const f of fixes) {
    if (f.kind === 'fstab-line') {
      out.push('', `${f.file} line ${f.line} (${f.ids.join(', ')}):`, `- ${f.before}`, `+ ${f.after}`);
    } else if (f.kind === 'drop-in') {
      out.push(
        '',
        `drop-in ${f.path} (${f.ids.join(', ')}), then: systemctl daemon-reload && systemctl restart ${f.unit}`,
      );
      out.push(
        ...f.content
          .trimEnd()
          .split('\n')
          .map((l) => `  ${l}`),
      );
    } else {
      out.push('', `live mount ${f.mountpoint} (no file to change):`, ...f.text.split('\n').map((l) => `  ${l}`));
    }
  }
  return out.join('\n');
}

function renderWritten(
  written: ReadonlyArray<{ path: string; backup: string | null }>,
  remaining: readonly Finding[],
): string {
  const out = ['', written.length === 0 ? 'Nothing written.' : 'Written:'];
  for (const w of written) out.push(`  ${w.path}${w.backup ? ` (backup: ${w.backup})` : ''}`);
  out.push(
    remaining.length === 0
      ? 'Re-linted: clean.'
      : `Re-linted: ${remaining.length} findings remain (${remaining.map((f) => f.id).join(', ')}).`,
  );
  return out.join('\n');
}

// A found line as written (fstab escapes such as \040 stay as they are), control characters shown.
function visible(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]/g, (c) =>
    c === '\n' ? ' ⏎ ' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
