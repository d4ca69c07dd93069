import type { Command } from 'commander';
import type { Diagnosis, PlanStep } from '../mounts/diagnosis.js';
import { DEFAULT_DIAGNOSE_TIMEOUT_MS, diagnose } from '../mounts/diagnose.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { makeContext } from './context.js';
import { EXIT_OK, EXIT_PROBLEM } from './exit.js';
import { formatMs, paint, paintState, printable, table, useColour } from './render.js';

interface DiagnoseFlags {
  json?: boolean;
  timeout?: string;
  force?: boolean;
}

// `enotconn diagnose <path>`: the state of the mount holding path, its ranked causes with evidence,
// and the plan heal would run. Exit 0 when healthy (or only denied to us), 1 otherwise.
export function registerDiagnose(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('diagnose')
    .description('why a mount is dead or hung: ranked causes with evidence, and the plan heal would run')
    .argument('<path>', 'a mountpoint, or any path under one (never touched: only the mount table is read)')
    .option('--json', 'print JSON (the diagnose shape in docs/json.md)')
    .option('--timeout <duration>', 'probe timeout', formatDuration(DEFAULT_DIAGNOSE_TIMEOUT_MS))
    .option('--force', 'show the plan heal --force would run')
    .action((path: string, flags: DiagnoseFlags, cmd: Command) =>
      run(async () => {
        const timeoutMs = parseDuration(flags.timeout ?? `${DEFAULT_DIAGNOSE_TIMEOUT_MS}ms`, '--timeout');
        const ctx = makeContext(cmd);
        try {
          const d = await diagnose(ctx.host, path, { timeoutMs, force: flags.force === true });
          ctx.out(flags.json ? JSON.stringify(d, null, 2) : renderDiagnosis(d, useColour()));
          return d.state === 'healthy' || d.state === 'denied' ? EXIT_OK : EXIT_PROBLEM;
        } finally {
          ctx.host.close();
        }
      }),
    );
}

// An argv as a reader would type it (display only: nothing is ever run through a shell).
export function showArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function stepWhat(s: PlanStep): string {
  if (s.argv) return showArgv(s.argv);
  if (s.write) return `write '${s.write.data.trim()}' to ${s.write.path}`;
  if (s.signal)
    return `signal pid ${s.signal.pid}: ${s.signal.signals.join(' then ')} (${formatMs(s.signal.graceMs)} apart)`;
  return '(no command)';
}

// The human report: state, ranked causes with evidence, daemon, endpoint, holders, options, plan.
export function renderDiagnosis(d: Diagnosis, colour: boolean): string {
  const m = d.mount;
  const out: string[] = [];
  const how =
    m.state === 'hung'
      ? m.probeSkipped
        ? `an earlier probe has not returned since ${m.stuckSince ?? '?'}`
        : `no answer in ${formatMs(m.timeoutMs ?? 0)}`
      : m.state === 'healthy'
        ? `answered in ${formatMs(m.latencyMs ?? 0)}`
        : `${m.syscall ?? 'probe'} failed with ${m.errno ?? '?'}`;
  out.push(
    `${paint(printable(m.mountpoint), 'bold', colour)}  ${m.fstype}  ${printable(m.source)}`,
    `State: ${paintState(d.state, colour)} (${how})`,
    '',
  );
  if (d.causes.length === 0) out.push('Causes: none found.');
  else {
    out.push('Causes, best first:');
    d.causes.forEach((c, i) => {
      out.push(
        `  ${i + 1}. ${paint(c.id, 'bold', colour)} (${Math.round(c.confidence * 100)}%): ${printable(c.summary)}`,
      );
      for (const e of c.evidence) {
        const at = e.at ? `${e.at.slice(0, 19).replace('T', ' ')}Z ` : '';
        out.push(paint(`       [${e.source}] ${at}${printable(e.detail)}`, 'grey', colour));
      }
    });
  }
  out.push('');
  if (d.daemon) {
    const dm = d.daemon;
    if (dm.pid !== null) {
      out.push(
        `Daemon: pid ${dm.pid} (${dm.comm ?? '?'}), uid ${dm.uid ?? '?'}, state ${dm.state ?? '?'}, started ${dm.startedAt ?? '?'}`,
        `  argv: ${showArgv(dm.argv ?? [])}`,
      );
    } else {
      out.push(
        dm.argv
          ? `Daemon: gone; last recorded as uid ${dm.uid ?? '?'}: ${showArgv(dm.argv)}`
          : 'Daemon: gone; no recorded argv for it',
      );
    }
  }
  if (d.fuse) {
    out.push(
      `FUSE connection ${d.fuse.connection}: ${d.fuse.waiting === null ? 'waiting count unreadable' : `${d.fuse.waiting} request(s) waiting`}`,
    );
  }
  if (d.endpoint) {
    const checks = d.endpoint.checks.map((c) => `${c.host}:${c.port} ${c.result} (${formatMs(c.latencyMs)})`);
    out.push(`Endpoint: ${printable(d.endpoint.display)}${checks.length > 0 ? `: ${checks.join(', ')}` : ''}`);
  }
  if (d.holders.length > 0) {
    out.push(
      '',
      `Holders (${d.holders.length}):`,
      table(
        ['PID', 'USER', 'COMM', 'HOW', 'PATHS'],
        d.holders.map((h) => [
          String(h.pid),
          h.user ?? String(h.uid ?? '?'),
          printable(h.comm),
          h.how.join(','),
          printable(h.paths.join(' ')),
        ]),
      ).replace(/^/gm, '  '),
    );
  }
  if (d.namespaces.length > 0) {
    out.push('', `Other mount namespaces that still see the mount (${d.namespaces.length}):`);
    for (const n of d.namespaces) {
      const at = n.copies
        .map(
          (c) =>
            `${printable(c.mountpoint)}${c.root !== '/' ? ` (shows ${printable(c.root)})` : ''}${c.options.includes('ro') ? ' ro' : ''}`,
        )
        .join(', ');
      out.push(`  ${n.mntns}: pid ${n.pids.slice(0, 5).join(', ')} (${printable(n.comm)}) at ${at}`);
    }
  }
  if (d.options.length > 0) {
    out.push('', 'Options:');
    for (const o of d.options) out.push(`  ${o.severity} ${o.id}: ${o.message} (fix: ${o.fix})`);
  }
  out.push(
    '',
    d.plan.length === 0
      ? 'Plan: none (no recipe and no step applies)'
      : 'Plan (what enotconn heal would run; diagnose runs nothing):',
  );
  d.plan.forEach((s, i) => {
    const extra = [s.runAs !== undefined ? `as uid ${s.runAs}` : '', s.requiresForce ? 'needs --force' : ''].filter(
      (x) => x !== '',
    );
    out.push(
      `  ${i + 1}. ${s.action} [${s.risk}${extra.length > 0 ? `, ${extra.join(', ')}` : ''}]: ${printable(stepWhat(s))}`,
    );
    out.push(paint(`       ${printable(s.why)}`, 'grey', colour));
  });
  out.push('', `Diagnosed in ${d.durationMs}ms.`);
  return out.join('\n');
}
