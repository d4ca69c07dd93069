import path from 'node:path';
import { Option, type Command } from 'commander';
import { EnotconnError } from '../errors.js';
import type { Host } from '../host/types.js';
import { daemonsRecorded, liveDaemons } from '../mounts/heal/live-daemons.js';
import { scanMounts, type MountReport, type ScanReport } from '../mounts/scan.js';
import { parseDuration } from '../util/duration.js';
import { makeContext, parsePositiveInt, requirePathNamesSomething } from './context.js';
import { EXIT_OK, EXIT_PROBLEM } from './exit.js';
import { formatMs, paint, paintState, printable, table, useColour } from './render.js';

interface ScanFlags {
  all?: boolean;
  type?: string;
  timeout: string;
  concurrency: string;
  json?: boolean;
  npd?: boolean;
}

// `enotconn scan`: every mount's health, without ever hanging.
export function registerScan(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('scan')
    .description("probe every network and FUSE mount's health; never hangs")
    .argument('[paths...]', 'only mounts at or under these paths')
    .addOption(new Option('--all', 'cover every mount, not only network and FUSE ones').conflicts('type'))
    .option('--type <types>', 'comma-separated fstypes to cover (fuse.* matches any FUSE subtype)')
    .option('--timeout <duration>', 'probe timeout per mount', '2s')
    .option('--concurrency <n>', 'probes run at once', '8')
    .addOption(new Option('--json', 'print JSON (the scan shape in docs/json.md)').conflicts('npd'))
    .option('--npd', 'node-problem-detector plugin mode: one line of at most 80 characters, exit 0 or 1')
    .action((paths: string[], flags: ScanFlags, cmd: Command) =>
      run(async () => {
        const timeoutMs = parseDuration(flags.timeout, '--timeout');
        const concurrency = parsePositiveInt(flags.concurrency, '--concurrency');
        const types = flags.type !== undefined ? parseTypes(flags.type) : null;
        const ctx = makeContext(cmd);
        try {
          const report = await scanMounts(ctx.host, {
            all: Boolean(flags.all),
            types,
            timeoutMs,
            concurrency,
            ...(paths.length > 0 ? { paths: paths.map((p) => path.resolve(p)) } : {}),
          });
          await checkPaths(ctx.host, paths, report);
          const bad = report.mounts.filter(isProblem);
          if (flags.npd) ctx.out(npdLine(report));
          else if (flags.json) ctx.out(JSON.stringify(report, null, 2));
          else ctx.out(renderScan(report, useColour()));
          // Record how to remount every live FUSE daemon (heal's recipe store). The recorder (and
          // SQLite) is loaded only when a daemon is not recorded as it is now.
          if (report.mounts.some((m) => m.daemonPid != null)) {
            const daemons = await liveDaemons(ctx.host, report);
            if (!(await daemonsRecorded(ctx.host, daemons))) {
              const { recordDaemons } = await import('../mounts/heal/record.js');
              await recordDaemons(ctx.host, daemons);
            }
          }
          return bad.length > 0 ? EXIT_PROBLEM : EXIT_OK;
        } finally {
          ctx.host.close();
        }
      }),
    );
}

// A path argument must name something: a covered mount at or under it, or a path that
// requirePathNamesSomething accepts. `scan /typo` is exit 2.
async function checkPaths(host: Host, paths: readonly string[], report: ScanReport): Promise<void> {
  for (const p of paths) {
    const abs = path.resolve(p);
    const prefix = abs.endsWith('/') ? abs : `${abs}/`;
    if (report.mounts.some((m) => m.mountpoint === abs || m.mountpoint.startsWith(prefix))) continue;
    await requirePathNamesSomething(host, p);
  }
}

function parseTypes(text: string): string[] {
  const types = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (types.length === 0)
    throw new EnotconnError('ENC_USAGE', `--type needs at least one fstype, such as fuse.sshfs,nfs4`);
  return types;
}

// A mount that needs attention. `denied` is not a fault (DESIGN §1): it is reported, not failed on.
export function isProblem(m: MountReport): boolean {
  return m.state !== 'healthy' && m.state !== 'denied' && m.errno !== 'ESHADOWED';
}

// The human table, with a summary line.
export function renderScan(report: ScanReport, colour: boolean): string {
  if (report.mounts.length === 0) {
    return `No network or FUSE mounts on ${report.host} (scanned in ${report.durationMs}ms; use --all for every mount).`;
  }
  const rows = report.mounts.map((m) => [
    printable(m.mountpoint),
    m.fstype,
    m.backend ?? '-',
    paintState(m.state, colour),
    detail(m),
    printable(m.endpoint ?? m.source),
  ]);
  const counts = new Map<string, number>();
  for (const m of report.mounts) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  const notes = report.mounts
    .filter((m) => m.note)
    .map((m) => paint(`  ${printable(m.mountpoint)}: ${m.note}`, 'grey', colour));
  return [
    table(['MOUNTPOINT', 'FSTYPE', 'BACKEND', 'STATE', 'DETAIL', 'SOURCE'], rows),
    '',
    `${report.mounts.length} mounts on ${report.host}: ${summary} (scanned in ${report.durationMs}ms)`,
    ...(notes.length > 0 ? ['Notes:', ...notes] : []),
  ].join('\n');
}

function detail(m: MountReport): string {
  if (m.state === 'healthy') return formatMs(m.latencyMs ?? 0);
  if (m.state === 'hung') {
    return m.probeSkipped ? `stuck since ${m.stuckSince ?? '?'}` : `no answer in ${formatMs(m.timeoutMs ?? 0)}`;
  }
  return `${m.errno ?? '?'}${m.syscall ? ` (${m.syscall})` : ''}`;
}

// node-problem-detector custom plugins read one line of at most 80 characters.
export function npdLine(report: ScanReport): string {
  const bad = report.mounts.filter(isProblem);
  const line =
    bad.length === 0
      ? `OK: ${report.mounts.length} mounts healthy`
      : `${bad.length} bad: ${bad.map((m) => `${m.mountpoint} ${m.state}${m.errno ? `(${m.errno})` : ''}`).join(', ')}`;
  return line.length <= 80 ? line : `${line.slice(0, 77)}...`;
}
