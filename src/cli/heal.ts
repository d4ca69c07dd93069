import type { Command } from 'commander';
import { healMount, type HealReport, type HealStepResult } from '../mounts/heal/apply.js';
import type { PlanStep } from '../mounts/diagnosis.js';
import { showGraft } from '../mounts/heal/regraft.js';
import { parseDuration } from '../util/duration.js';
import { makeContext, requirePathNamesSomething } from './context.js';
import { EXIT_OK, EXIT_PROBLEM } from './exit.js';
import { formatMs, paint, printable, useColour } from './render.js';

interface HealFlags {
  dryRun?: boolean;
  force?: boolean;
  propagate?: boolean;
  json?: boolean;
  timeout: string;
  config?: string;
}

// `enotconn heal <path>`: safe unmount, remount as the owner, and proof that it worked.
export function registerHeal(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('heal')
    .description('unmount a dead mount safely, remount it as its owner, and validate it')
    .argument('<path>', 'a mountpoint or any path under one')
    .option('--dry-run', 'print the exact plan and change nothing')
    .option('--force', 'also heal a hung or healthy mount, or one whose daemon still answers (aborts the connection)')
    .option('--propagate', 're-attach the healed mount in other mount namespaces that still hold the dead one')
    .option('--timeout <duration>', 'probe timeout for the checks before and after', '2s')
    .option('--config <file>', "enotconn's config, for mounts it manages (default /etc/enotconn/config.yaml)")
    .option('--json', 'print the heal report as JSON')
    .action((p: string, flags: HealFlags, cmd: Command) =>
      run(async () => {
        const timeoutMs = parseDuration(flags.timeout, '--timeout');
        const ctx = makeContext(cmd);
        try {
          await requirePathNamesSomething(ctx.host, p);
          const r = await healMount(ctx.host, p, {
            dryRun: flags.dryRun === true,
            force: flags.force === true,
            propagate: flags.propagate === true,
            timeoutMs,
            ...(flags.config !== undefined ? { configFile: flags.config } : {}),
          });
          if (flags.json) ctx.out(JSON.stringify(r, null, 2));
          else ctx.out(renderHeal(r, useColour()));
          return r.result === 'healed' || r.result === 'dry-run' ? EXIT_OK : EXIT_PROBLEM;
        } finally {
          ctx.host.close();
        }
      }),
    );
}

// A plan step's command, as one line: argv words quoted only when they need it (display only).
export function showArgv(step: PlanStep): string {
  if (step.write) {
    const w = `echo ${step.write.data} > ${step.write.path}`;
    return step.signal
      ? `${w}; kill -${step.signal.signals.join(',')} ${step.signal.pid} (${step.signal.graceMs}ms grace)`
      : w;
  }
  if (step.graft) return printable(showGraft(step.graft));
  return (step.argv ?? []).map(quote).join(' ');
}

function quote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${printable(a).replace(/'/g, `'\\''`)}'`;
}

function stepLine(i: number, s: PlanStep, colour: boolean): string[] {
  const who = s.runAs !== undefined ? ` [as uid ${s.runAs}]` : '';
  const on = s.target && s.target.mountId >= 0 ? ` [mount ${s.target.mountId}, dev ${s.target.device}]` : '';
  const t = s.timeoutMs !== undefined ? ` (timeout ${formatMs(s.timeoutMs)})` : '';
  const force = s.requiresForce ? paint(' [--force]', 'magenta', colour) : '';
  const cmd = showArgv(s);
  return [
    `  ${i + 1}. ${s.action}${force} ${paint(s.risk, s.risk === 'safe' ? 'green' : s.risk === 'caution' ? 'yellow' : 'red', colour)}${who}${on}${t}`,
    ...(cmd ? [`     $ ${cmd}`] : []),
    paint(`     ${s.why}`, 'grey', colour),
  ];
}

function resultLine(i: number, r: HealStepResult, colour: boolean): string[] {
  const status = r.skipped
    ? paint('skipped', 'grey', colour)
    : r.ok
      ? paint('ok', 'green', colour)
      : paint('FAILED', 'red', colour);
  const code = r.code !== null ? ` exit ${r.code}` : '';
  const cmd = showArgv(r.step);
  return [
    `  ${String(i + 1).padStart(2)}. ${r.step.action.padEnd(16)} ${status}${code}  ${formatMs(r.durationMs)}`,
    ...(cmd ? [`      $ ${cmd}`] : []),
    ...(r.refused !== undefined ? [paint(`      refused: ${printable(r.refused)}`, 'red', colour)] : []),
    ...(r.output && r.refused === undefined
      ? [paint(`      ${printable(r.output.split('\n').slice(-3).join(' | '))}`, 'grey', colour)]
      : []),
  ];
}

// The human heal report: what was found, each step with its duration, the validation, the holders.
export function renderHeal(r: HealReport, colour: boolean): string {
  const out: string[] = [];
  const head = r.state ? ` (${r.state}${r.cause ? `, cause ${r.cause}` : ''})` : '';
  out.push(`heal ${printable(r.mountpoint)}${head}`);
  if (r.recipe) {
    out.push(
      `recipe: ${r.recipe.origin}${r.recipe.origin === 'reconstructed' ? ' (never seen alive)' : ''}, runs as uid ${r.recipe.uid}${r.recipe.user ? ` (${r.recipe.user})` : ''}`,
    );
    if (r.recipeTrust) {
      out.push(
        r.recipeTrust.trusted
          ? `trusted: ${printable(r.recipeTrust.why)}`
          : paint(`NOT TRUSTED (runs only with --force): ${printable(r.recipeTrust.why)}`, 'red', colour),
      );
    }
  }
  if (r.result === 'dry-run' || (r.result === 'refused' && (r.plan?.length ?? 0) > 0 && r.steps.length === 0)) {
    out.push(r.result === 'dry-run' ? 'plan (dry run: nothing was changed):' : 'plan (not run):');
    (r.plan ?? []).forEach((s, i) => out.push(...stepLine(i, s, colour)));
  }
  if (r.steps.length > 0) {
    out.push('steps:');
    r.steps.forEach((s, i) => out.push(...resultLine(i, s, colour)));
  }
  const v = r.validation;
  if (v) {
    const mark = (ok: boolean): string => (ok ? paint('ok', 'green', colour) : paint('FAILED', 'red', colour));
    out.push(`validation (${formatMs(v.durationMs)}):`);
    out.push(
      `  probe      ${mark(v.probe.state === 'healthy')} ${v.probe.state}${v.probe.errno ? ` ${v.probe.errno}` : ''}${v.probe.asOwner ? ' (as the owner)' : ''}`,
    );
    out.push(`  listing    ${mark(v.listed)}${v.entries !== null ? ` ${v.entries} entries` : ''}`);
    out.push(`  read-back  ${mark(v.sample.ok)} ${printable(v.sample.detail)}`);
  }
  for (const n of r.namespaces ?? []) {
    out.push(
      `namespace ${n.mntns} (pid ${n.pid}): ${n.ok ? paint('ok', 'green', colour) : paint('FAILED', 'red', colour)} ${printable(n.detail)}`,
    );
  }
  if (r.stillOnOldMount.length > 0) {
    out.push('still on the old, dead mount (restart them or cd back in; enotconn never kills them):');
    for (const h of r.stillOnOldMount) {
      out.push(`  pid ${h.pid} ${printable(h.comm)}${h.user ? ` (${h.user})` : ''}: ${h.how.join(', ')}`);
    }
  }
  for (const n of r.notes ?? []) out.push(paint(`note: ${n}`, 'yellow', colour));
  const verdict =
    r.result === 'healed'
      ? paint('HEALED', 'green', colour)
      : r.result === 'dry-run'
        ? 'DRY RUN'
        : paint(r.result.toUpperCase(), 'red', colour);
  out.push(`${verdict}: ${printable(r.reason)} (${formatMs(r.durationMs)})`);
  return out.join('\n');
}
