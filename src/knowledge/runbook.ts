import { EnotconnError } from '../errors.js';
import type { ExecResult, Host } from '../host/types.js';
import { diagnose } from '../mounts/diagnose.js';
import type { Cause, Diagnosis, Evidence, PlanStep } from '../mounts/diagnosis.js';
import type { ErrnoCatalog } from './catalog.js';
import { recogniseInput } from './explain.js';
import { runLint } from './lint/lint.js';
import type { Finding } from './lint/types.js';
import { MEANINGS, type ExplainContext } from './meanings.js';
import { shellJoin, shellQuote } from './shell-quote.js';

// One observed symptom: a command run now, with its real output.
export interface Symptom {
  title: string;
  command: string | null; // as a human would type it
  exitCode: number | null;
  output: string;
}

export interface RemediationStep {
  action: PlanStep['action'];
  risk: PlanStep['risk'];
  why: string;
  command: string | null; // shell-quoted, ready to copy
  runAs: number | null;
  requiresForce: boolean;
}

export interface MountRunbook {
  kind: 'mount';
  title: string;
  mountpoint: string;
  host: string;
  generatedAt: string;
  state: Diagnosis['state'];
  symptoms: Symptom[];
  evidence: Evidence[];
  causes: Cause[];
  remediation: RemediationStep[];
  validation: string[];
  prevention: Finding[];
  diagnosis: Diagnosis;
}

export interface ErrnoRunbook {
  kind: 'errno';
  title: string;
  errno: string;
  number: number;
  message: string;
  generatedAt: string;
  contexts: Array<{ context: ExplainContext; meaning: string; causes: string[]; nextSteps: string[] }>;
}

const OUTPUT_CAP = 2000;

// A runbook for the mount holding `path`, from a live diagnose plus commands run now with a timeout.
export async function mountRunbook(host: Host, path: string, opts: { timeoutMs?: number } = {}): Promise<MountRunbook> {
  const d = await diagnose(host, path, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {});
  const m = d.mount;
  const mp = m.mountpoint;
  const symptoms: Symptom[] = [
    {
      title: 'Mount table entry',
      command: `findmnt -- ${shellQuote(mp)}`,
      exitCode: null,
      output: `${m.source} on ${mp} type ${m.fstype} (${[...m.mountOptions, ...m.options].join(',')})`,
    },
    { title: 'Probe (enotconn)', command: `enotconn diagnose ${shellQuote(mp)}`, exitCode: null, output: probeText(d) },
  ];
  // ls and stat -f go through host.exec with a timeout; on a hung mount they are not run at all,
  // because a process blocked in a FUSE or NFS request may outlive any signal.
  for (const [title, argv] of [
    ['Listing the mountpoint', ['ls', '-la', '--', mp]],
    ['statfs of the mountpoint', ['stat', '-f', '--', mp]],
  ] as const) {
    if (d.state === 'hung') {
      symptoms.push({
        title,
        command: shellJoin(argv),
        exitCode: null,
        output: '(not run: the mount is hung and this would block)',
      });
      continue;
    }
    const r = await host.exec(argv, {
      timeoutMs: 3000,
      env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    symptoms.push({ title, command: shellJoin(argv), exitCode: r.code, output: execText(r) });
  }
  const evidence: Evidence[] = [];
  const seen = new Set<string>();
  for (const c of d.causes) {
    for (const e of c.evidence) {
      const k = `${e.source}\0${e.detail}`;
      if (!seen.has(k)) {
        seen.add(k);
        evidence.push(e);
      }
    }
  }
  const lint = await runLint(host, {
    fstab: '/etc/fstab',
    units: '/etc/systemd/system',
    live: true,
    mountpoint: mp,
    daemonArgv: d.daemon?.argv ?? null,
  });
  return {
    kind: 'mount',
    title: `${mp} (${m.fstype}) is ${d.state}`,
    mountpoint: mp,
    host: host.hostname(),
    generatedAt: new Date(host.now()).toISOString(),
    state: d.state,
    symptoms,
    evidence,
    causes: d.causes,
    remediation: d.plan.map(stepOf),
    validation: [
      `enotconn diagnose ${shellQuote(mp)}`,
      `stat -f -- ${shellQuote(mp)}`,
      `ls -la -- ${shellQuote(mp)}`,
      `findmnt -- ${shellQuote(mp)}`,
    ],
    prevention: lint.findings,
    diagnosis: d,
  };
}

function probeText(d: Diagnosis): string {
  const m = d.mount;
  if (m.state === 'healthy') return `healthy: answered in ${m.latencyMs ?? 0}ms`;
  if (m.state === 'hung') return `hung: no answer within ${m.timeoutMs ?? 0}ms`;
  return `${m.state}: ${m.syscall ?? 'probe'} failed with ${m.errno ?? '?'}`;
}

function execText(r: ExecResult): string {
  if (r.spawnError) return `(could not run: ${r.spawnError})`;
  const text = [r.stdout.trimEnd(), r.stderr.trimEnd()].filter((s) => s !== '').join('\n');
  const capped = text.length > OUTPUT_CAP ? `${text.slice(0, OUTPUT_CAP)}\n...` : text;
  return r.timedOut ? `${capped}\n(killed after the 3 s timeout)` : capped;
}

function stepOf(s: PlanStep): RemediationStep {
  let command: string | null = null;
  if (s.argv) command = shellJoin(s.argv);
  else if (s.write) command = `echo ${shellQuote(s.write.data.trim())} > ${shellQuote(s.write.path)}`;
  else if (s.signal)
    command = s.signal.signals.map((sig) => `kill -${sig.replace(/^SIG/, '')} ${s.signal!.pid}`).join(' && ');
  if (command !== null && s.runAs !== undefined && s.runAs !== 0) command = `sudo -u '#${s.runAs}' -- ${command}`;
  return {
    action: s.action,
    risk: s.risk,
    why: s.why,
    command,
    runAs: s.runAs ?? null,
    requiresForce: s.requiresForce === true,
  };
}

// A generic runbook for an errno, one section per context it occurs in.
export function errnoRunbook(catalog: ErrnoCatalog, input: string, now: number): ErrnoRunbook {
  const r = recogniseInput(input.trim(), catalog);
  if (!r || r.via === 'phrase') {
    throw new EnotconnError(
      'ENC_BAD_INPUT',
      `'${input}' is not an errno name, number or message; try 'enotconn explain' for a log line`,
    );
  }
  const e = r.errno;
  const set = MEANINGS[e.name] ?? {};
  const contexts = (['mount', 'socket', 'dns', 'unknown'] as const)
    .filter((c) => set[c])
    .map((c) => ({ context: c, ...set[c]! }));
  return {
    kind: 'errno',
    title: `${e.name} (${e.kind === 'gai' ? 'getaddrinfo code' : 'errno'} ${e.number}): ${e.message}`,
    errno: e.name,
    number: e.number,
    message: e.message,
    generatedAt: new Date(now).toISOString(),
    contexts:
      contexts.length > 0
        ? contexts.map((c) => ({
            ...c,
            meaning: fill(c.meaning),
            causes: c.causes.map(fill),
            nextSteps: c.nextSteps.map(fill),
          }))
        : [
            {
              context: 'unknown',
              meaning: `${e.message}. enotconn has no specific guidance for ${e.name}; the message is the system's own.`,
              causes: [],
              nextSteps: [`Search your logs for it: enotconn explain --log FILE`],
            },
          ],
  };
}

function fill(s: string): string {
  return s.replaceAll('{path}', 'MOUNTPOINT').replaceAll('{mountpoint}', 'MOUNTPOINT').replaceAll('{peerText}', '');
}

// The runbook as Markdown, to keep in a wiki and re-run.
export function runbookMarkdown(rb: MountRunbook | ErrnoRunbook): string {
  return rb.kind === 'mount' ? mountMarkdown(rb) : errnoMarkdown(rb);
}

function fence(text: string, lang = ''): string[] {
  const ticks = text.includes('```') ? '````' : '```';
  return [`${ticks}${lang}`, text, ticks];
}

function mountMarkdown(rb: MountRunbook): string {
  const out: string[] = [
    `# Runbook: ${rb.title}`,
    '',
    `Generated by \`enotconn runbook ${shellQuote(rb.mountpoint)}\` on ${rb.host} at ${rb.generatedAt}. Re-run it to refresh every section.`,
    '',
    '## Symptoms',
  ];
  for (const s of rb.symptoms) {
    out.push('', `**${s.title}**${s.exitCode !== null ? ` (exit ${s.exitCode})` : ''}`, '');
    out.push(...fence(`${s.command ? `$ ${s.command}\n` : ''}${s.output}`, 'console'));
  }
  out.push('', '## Evidence', '');
  if (rb.evidence.length === 0) out.push('No evidence beyond the probe was collected.');
  for (const e of rb.evidence) out.push(`- \`${e.source}\`${e.at ? ` (${e.at})` : ''}: ${e.detail}`);
  out.push('', '## Cause', '');
  if (rb.causes.length === 0)
    out.push(rb.state === 'healthy' ? 'None: the mount is healthy.' : 'No cause was identified.');
  rb.causes.forEach((c, i) =>
    out.push(`${i + 1}. **${c.id}** (confidence ${Math.round(c.confidence * 100)}%): ${c.summary}`),
  );
  out.push('', '## Remediation', '');
  if (rb.remediation.length === 0) out.push('No remediation plan: nothing to do, or nothing safe to do automatically.');
  else
    out.push(
      `Run in order (or \`enotconn heal ${shellQuote(rb.mountpoint)}\`, which runs the same plan and validates it):`,
      '',
    );
  rb.remediation.forEach((s, i) => {
    out.push(`${i + 1}. \`${s.action}\` (risk: ${s.risk}${s.requiresForce ? ', needs --force' : ''}): ${s.why}`);
    if (s.command) out.push('', ...fence(s.command, 'sh').map((l) => `   ${l}`), '');
  });
  out.push('', '## Validation', '', 'The mount is back when these succeed (the diagnose state is `healthy`):', '');
  out.push(...fence(rb.validation.join('\n'), 'sh'));
  out.push('', '## Prevention', '');
  if (rb.prevention.length === 0) out.push('`enotconn lint` found nothing to change for this mount.');
  for (const f of rb.prevention)
    out.push(
      `- **${f.id}** (${f.severity}, ${f.file ?? f.source}${f.line !== null ? `:${f.line}` : ''}): ${f.message}. ${f.why}. Fix: ${f.fix}.`,
    );
  out.push('');
  return out.join('\n');
}

function errnoMarkdown(rb: ErrnoRunbook): string {
  const out: string[] = [
    `# Runbook: ${rb.title}`,
    '',
    `Generated by \`enotconn runbook ${rb.errno}\` at ${rb.generatedAt}.`,
  ];
  const heading: Record<ExplainContext, string> = {
    mount: 'On a mount (a path, a filesystem call)',
    socket: 'On a socket (a network connection)',
    dns: 'In name resolution (getaddrinfo, DNS)',
    unknown: 'Anywhere',
  };
  for (const c of rb.contexts) {
    out.push('', `## ${heading[c.context]}`, '', c.meaning);
    if (c.causes.length > 0) out.push('', '### Likely causes', '', ...c.causes.map((x) => `- ${x}`));
    if (c.nextSteps.length > 0) out.push('', '### Steps', '', ...c.nextSteps.map((x, i) => `${i + 1}. ${x}`));
  }
  out.push('');
  return out.join('\n');
}
