import { EnotconnError } from '../../errors.js';
import type { Host } from '../../host/types.js';
import { buildFixes, type Fix } from './fix.js';
import { parseFstab } from './fstab.js';
import { RULES } from './rules/index.js';
import { fstabTargets, liveTargets, readUnits, unitTargets, withDaemonArgv } from './sources.js';
import type { Finding, LintTarget, RuleEnv, Severity } from './types.js';

export interface LintOptions {
  fstab?: string | null; // null: no fstab
  units?: string | null; // null: no unit directory
  live?: boolean;
  mountpoint?: string; // only targets for this mountpoint (runbook)
  daemonArgv?: readonly string[] | null; // argv of a live mount's daemon that is gone (from diagnose)
  explicit?: boolean; // the files were named by the user: missing ones are errors
}

export interface LintSourceReport {
  kind: 'fstab' | 'units' | 'live';
  path: string | null;
  targets: number;
  missing?: boolean;
}

// `lint --json`.
export interface LintReport {
  sources: LintSourceReport[];
  findings: Finding[];
  fixes: Fix[];
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

// Check every network and FUSE mount the sources describe against the prevention rules.
export async function runLint(host: Host, opts: LintOptions): Promise<LintReport> {
  const sources: LintSourceReport[] = [];
  const targets: LintTarget[] = [];
  const syntax: Finding[] = [];
  if (opts.fstab) {
    const text = await host.readText(opts.fstab);
    if (text === null) {
      if (opts.explicit)
        throw new EnotconnError('ENC_NOT_FOUND', `cannot read fstab ${opts.fstab}; give an existing file with --fstab`);
      sources.push({ kind: 'fstab', path: opts.fstab, targets: 0, missing: true });
    } else {
      const parsed = parseFstab(text);
      const t = fstabTargets(opts.fstab, parsed);
      targets.push(...t);
      sources.push({ kind: 'fstab', path: opts.fstab, targets: t.length });
      for (const e of parsed.errors) {
        syntax.push({
          id: 'fstab-syntax',
          severity: 'error',
          source: 'fstab',
          file: opts.fstab,
          line: e.line,
          found: e.raw,
          mountpoint: '',
          message: `fstab line ${e.line} ${e.message}`,
          why: 'mount and systemd-fstab-generator reject or misread a malformed line, so the mount is never made',
          fix: 'give six blank-separated fields; write a space inside a path as \\040',
          change: { kind: 'advice' },
        });
      }
    }
  }
  if (opts.units) {
    const units = await readUnits(host, opts.units);
    if (opts.explicit && (await host.readDir(opts.units)) === null) {
      throw new EnotconnError(
        'ENC_NOT_FOUND',
        `cannot read unit directory ${opts.units}; give an existing directory with --units`,
      );
    }
    const t = unitTargets(units);
    targets.push(...t);
    sources.push({ kind: 'units', path: opts.units, targets: t.length });
  }
  if (opts.live) {
    let t = await liveTargets(host);
    if (opts.daemonArgv) t = t.map((x) => (x.mountpoint === opts.mountpoint ? withDaemonArgv(x, opts.daemonArgv!) : x));
    targets.push(...t);
    sources.push({ kind: 'live', path: null, targets: t.length });
  }
  const env: RuleEnv = {
    fusermount: (await host.fileExists('/usr/bin/fusermount3')) ? '/usr/bin/fusermount3' : '/bin/fusermount',
  };
  const chosen =
    opts.mountpoint === undefined ? targets : targets.filter((t) => samePath(t.mountpoint, opts.mountpoint!));
  const pairs = chosen.map((target) => ({ target, findings: checkTarget(target, env) }));
  const findings = [...(opts.mountpoint === undefined ? syntax : []), ...pairs.flatMap((p) => p.findings)];
  findings.sort((a, b) => RANK[a.severity] - RANK[b.severity]);
  return { sources, findings, fixes: buildFixes(pairs) };
}

// Run every rule on one target.
export function checkTarget(t: LintTarget, env: RuleEnv): Finding[] {
  const out: Finding[] = [];
  for (const rule of RULES) {
    const r = rule.check(t, env);
    if (!r) continue;
    out.push({
      id: rule.id,
      severity: rule.severity,
      source: t.source,
      file: t.file,
      line: t.line,
      found: t.found,
      mountpoint: t.mountpoint,
      ...r,
    });
  }
  return out;
}

// True when findings of severity warning or above exist (lint's exit status 1).
export function hasProblems(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity !== 'info');
}

function samePath(a: string, b: string): boolean {
  const strip = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  return strip(a) === strip(b);
}
