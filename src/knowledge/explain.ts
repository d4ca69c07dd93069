import { EnotconnError, isEnotconnError } from '../errors.js';
import type { Host } from '../host/types.js';
import { diagnose } from '../mounts/diagnose.js';
import type { Diagnosis } from '../mounts/diagnosis.js';
import { mountForPath } from '../mounts/find-mount.js';
import { ErrnoCatalog, type CatalogEntry } from './catalog.js';
import { classifyContext } from './context.js';
import { meaningFor, type ExplainContext } from './meanings.js';
import { mentionOnly } from './mentions.js';
import { PLATFORM_NAMES, recogniseLine, type Recognised } from './recognise.js';
import { libcErrnos } from './strerror.js';

// `explain` JSON (DESIGN §2 "explain"); fields may be added, never renamed.
export interface Explanation {
  recognised: true;
  input: string;
  errno: string;
  number: number;
  message: string;
  context: ExplainContext;
  path: string | null;
  peer: string | null;
  tool: string | null;
  syscall: string | null;
  via: Recognised['via'];
  // What the answer rests on (the name, number, message, platform and syscall) and how sure it is.
  platform: Recognised['platform'];
  platformName: string;
  platformCode?: string;
  reportedNumber?: number;
  locale?: string;
  restsOn: string[];
  confidence: Recognised['confidence'];
  meaning: string;
  causes: string[];
  nextSteps: string[];
  known: boolean; // false when enotconn has no specific guidance for this errno in this context
  note?: string;
  contextReasons: string[];
  mount?: { mountpoint: string; fstype: string };
  diagnosis?: Diagnosis;
  diagnosisError?: string;
}

export interface NotRecognised {
  recognised: false;
  input: string;
  reason: string;
  mentions?: string; // the errno the input names without reporting it
}

export interface ExplainOptions {
  offline?: boolean; // never look at this host's mounts, never run diagnose
  diagnoseTimeoutMs?: number;
}

// The catalog of this system's errnos, with libc's wording read once.
export async function loadCatalog(host: Host): Promise<ErrnoCatalog> {
  return new ErrnoCatalog(await libcErrnos(host));
}

// Explain an errno name, number, message or whole log line; never guesses.
export async function explain(
  host: Host,
  catalog: ErrnoCatalog,
  input: string,
  opts: ExplainOptions = {},
): Promise<Explanation | NotRecognised> {
  const text = input.trim();
  if (text === '')
    throw new EnotconnError('ENC_BAD_INPUT', 'explain needs an errno, a number, a message or a log line');
  const r = recogniseInput(text, catalog);
  const mention = r ? mentionOnly(text, r) : null;
  if (r && mention) {
    return {
      recognised: false,
      input: text,
      reason: `not an error report: it names ${r.errno.name} but ${mention}, so no errno is claimed`,
      mentions: r.errno.name,
    };
  }
  if (!r) {
    return {
      recognised: false,
      input: text,
      reason:
        'not recognised: no errno name, errno number, strerror message (in any language glibc or Windows ships) or known tool wording was found in this input',
    };
  }
  const verdict = classifyContext(text, r);
  let context = verdict.context;
  const reasons = [...verdict.reasons];
  let mount: Explanation['mount'];
  let diagnosis: Diagnosis | undefined;
  let diagnosisError: string | undefined;
  if (r.path && !opts.offline) {
    try {
      const m = await mountForPath(host, r.path);
      mount = { mountpoint: m.mountpoint, fstype: m.fstype };
      context = 'mount';
      reasons.push(`mount: ${r.path} lies under ${m.mountpoint} (${m.fstype}) on this host`);
      try {
        diagnosis = await diagnose(
          host,
          r.path,
          opts.diagnoseTimeoutMs !== undefined ? { timeoutMs: opts.diagnoseTimeoutMs } : {},
        );
      } catch (e) {
        diagnosisError = isEnotconnError(e) ? e.message : e instanceof Error ? e.message : String(e);
      }
    } catch (e) {
      if (!isEnotconnError(e) || e.code !== 'ENC_NOT_A_MOUNT') throw e;
    }
  }
  return describe(text, r, context, reasons, { mount, diagnosis, diagnosisError });
}

// Recognise a bare name, number or message first, then a whole log line.
export function recogniseInput(text: string, catalog: ErrnoCatalog): Recognised | null {
  const bare = (errno: CatalogEntry, via: Recognised['via']): Recognised => ({
    errno,
    via,
    tool: null,
    syscall: null,
    path: null,
    peer: null,
    phraseContext: null,
    note: null,
    platform: errno.kind === 'gai' ? 'linux' : 'any',
    platformCode: null,
    reportedNumber: via === 'number' ? errno.number : null,
    locale: null,
    restsOn: [`${via} ${via === 'number' ? errno.number : via === 'name' ? errno.name : `"${text}"`}`],
    confidence: 'high',
  });
  if (/^-?E[A-Z0-9]{2,}$/i.test(text)) {
    const e = catalog.name(text.replace(/^-/, ''));
    return e ? bare(e, 'name') : null;
  }
  const num = /^(?:errno\s*[:=]?\s*)?(-?\d+)$/i.exec(text);
  if (num) {
    const n = Number(num[1]);
    const e = Math.abs(n) < 1000 ? catalog.number(Math.abs(n)) : null;
    // 10054 (Windows Sockets), -4077 (libuv on Windows), -3008 (libuv's EAI_NONAME): read as a line.
    return e ? bare(e, 'number') : recogniseLine(`errno=${n}`, catalog);
  }
  const msg = catalog.message(text);
  const line = recogniseLine(text, catalog);
  // A bare wording still learns its platform and language from the line reader.
  if (msg && (!line || line.errno !== msg)) return bare(msg, 'message');
  return line;
}

// Build the explanation from what was recognised, in the context found.
export function describe(
  input: string,
  r: Recognised,
  context: ExplainContext,
  contextReasons: string[],
  extra: {
    mount?: Explanation['mount'] | undefined;
    diagnosis?: Diagnosis | undefined;
    diagnosisError?: string | undefined;
  } = {},
): Explanation {
  const found = meaningFor(r.errno.name, context);
  const fill = (s: string): string =>
    s
      .replaceAll('{path}', r.path ?? extra.mount?.mountpoint ?? 'PATH')
      .replaceAll('{mountpoint}', extra.mount?.mountpoint ?? 'MOUNTPOINT')
      .replaceAll('{peerText}', r.peer ? ` (${r.peer})` : '');
  const where = context === 'unknown' ? '' : ` on a ${context}`;
  return {
    recognised: true,
    input,
    errno: r.errno.name,
    number: r.errno.number,
    message: r.errno.message,
    // An errno that only one context produces (ESTALE: filesystems) is reported in that context.
    context: context === 'unknown' && found ? found.context : context,
    path: r.path,
    peer: r.peer,
    tool: r.tool,
    syscall: r.syscall,
    via: r.via,
    platform: r.platform,
    platformName: PLATFORM_NAMES[r.platform],
    ...(r.platformCode ? { platformCode: r.platformCode } : {}),
    ...(r.reportedNumber !== null ? { reportedNumber: r.reportedNumber } : {}),
    ...(r.locale ? { locale: r.locale } : {}),
    restsOn: r.restsOn,
    confidence: r.confidence,
    meaning: found
      ? fill(found.meaning.meaning)
      : `${r.errno.message} (${r.errno.name}, errno ${r.errno.number}). enotconn has no specific guidance for ${r.errno.name}${where}; the message is the system's own.`,
    causes: found ? found.meaning.causes.map(fill) : [],
    nextSteps: found ? found.meaning.nextSteps.map(fill) : [],
    known: found !== null,
    ...(r.note ? { note: r.note } : {}),
    contextReasons,
    ...(extra.mount ? { mount: extra.mount } : {}),
    ...(extra.diagnosis ? { diagnosis: extra.diagnosis } : {}),
    ...(extra.diagnosisError ? { diagnosisError: extra.diagnosisError } : {}),
  };
}
