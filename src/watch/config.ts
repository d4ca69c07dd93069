// The watch config file: YAML, validated with zod, errors that name the line and key.
import fs from 'node:fs';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { EnotconnError } from '../errors.js';
import { checkDuration } from '../util/duration.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

// A duration as Go and Prometheus write it (`500ms`, `2s`, `1m30s`), within [min, max]. A bare
// number is refused: `interval: 5` used to mean 5 ms.
const duration = (max: number, min = 1): z.ZodType<number, unknown> =>
  z.unknown().transform((v, ctx) => {
    if (typeof v !== 'string' && typeof v !== 'number') {
      ctx.addIssue({ code: 'custom', message: `invalid duration: expected text such as 2s, not ${typeOf(v)}` });
      return z.NEVER;
    }
    const r = checkDuration(String(v), { min, max });
    if ('error' in r) {
      ctx.addIssue({ code: 'custom', message: `invalid duration '${String(v)}': ${r.error}` });
      return z.NEVER;
    }
    return r.ms;
  }) as unknown as z.ZodType<number, unknown>;

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : typeof v;
}

const argv = z.array(z.string().min(1)).min(1, 'needs at least the program name');

const listen = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'use host:port, such as 127.0.0.1:9717');

const owner = z
  .object({
    uid: z.number().int().min(0),
    gid: z.number().int().min(0).optional(),
  })
  .strict();

const managedMount = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, dot, dash and underscore'),
    // The daemon in the foreground: `sshfs -f`, `rclone mount` without --daemon, `bindfs -f`.
    argv,
    mountpoint: z.string().startsWith('/', 'must be an absolute path'),
    owner: owner.optional(),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().startsWith('/', 'must be an absolute path').optional(),
    oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
    // On SIGTERM: unmount (the default) or leave the daemon and its mount up.
    onStop: z.enum(['unmount', 'leave-mounted']).default('unmount'),
    readyTimeout: duration(10 * MIN, 100).default(15_000),
    createMountpoint: z.boolean().default(true),
  })
  .strict();

const backoff = z
  .object({
    initial: duration(DAY).default(1000),
    max: duration(DAY).default(5 * 60_000),
    factor: z.number().min(1).default(2),
  })
  .strict();

const breaker = z
  .object({
    maxHeals: z.number().int().min(1).default(5),
    window: duration(DAY, 1000).default(10 * 60_000),
    cooldown: duration(DAY).default(30 * 60_000),
  })
  .strict();

const webhook = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }),
    timeout: duration(5 * MIN).default(5000),
    retries: z.number().int().min(0).default(3),
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const execHook = z
  .object({
    argv,
    timeout: duration(10 * MIN).default(10_000),
    retries: z.number().int().min(0).default(1),
  })
  .strict();

export const ALERT_KINDS = [
  'incident-opened',
  'incident-closed',
  'heal-failed',
  'flapping',
  'daemon-exited',
  'daemon-restarted',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

const baseSchema = z
  .object({
    interval: duration(HOUR, 100).default(5000),
    // Each cycle waits interval × (1 ± jitter) so a fleet does not probe in lockstep.
    jitter: z.number().min(0).max(0.9).default(0.1),
    probeTimeout: duration(10 * MIN, 10).default(2000),
    // A failing mount is re-probed this soon, so N failures confirm a fault without waiting N intervals.
    confirmInterval: duration(HOUR, 100).optional(),
    concurrency: z.number().int().min(1).max(256).default(8),
    listen: listen.default('127.0.0.1:9717'),
    // Host header values served beside the listen address, localhost and IP literals (DNS names of the node).
    allowedHosts: z
      .array(z.string().regex(/^[A-Za-z0-9._-]+(:\d{1,5})?$/, 'use a host name, or name:port'))
      .default([]),
    stateDir: z.string().startsWith('/', 'must be an absolute path').optional(),
    observe: z
      .object({
        all: z.boolean().default(false),
        types: z.array(z.string().min(1)).min(1).optional(),
        include: z.array(z.string().min(1)).default([]),
        exclude: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ all: false, include: [], exclude: [] }),
    heal: z
      .object({
        policy: z.enum(['off', 'dry-run', 'on']).default('off'),
        failuresBeforeIncident: z.number().int().min(1).default(2),
        timeout: duration(10 * MIN, 10).default(2000),
        force: z.boolean().default(false),
        // Re-graft the healed mount into other mount namespaces (containers) that hold a dead copy.
        propagate: z.boolean().default(false),
        backoff: backoff.default({ initial: 1000, max: 300_000, factor: 2 }),
        breaker: breaker.default({ maxHeals: 5, window: 600_000, cooldown: 1_800_000 }),
      })
      .strict()
      .default({
        policy: 'off',
        failuresBeforeIncident: 2,
        timeout: 2000,
        force: false,
        propagate: false,
        backoff: { initial: 1000, max: 300_000, factor: 2 },
        breaker: { maxHeals: 5, window: 600_000, cooldown: 1_800_000 },
      }),
    managed: z.array(managedMount).default([]),
    managedRestart: z
      .object({
        backoff: backoff.default({ initial: 200, max: 60_000, factor: 2 }),
        // A daemon that stays up this long resets its backoff.
        stableAfter: duration(DAY).default(30_000),
      })
      .strict()
      .default({ backoff: { initial: 200, max: 60_000, factor: 2 }, stableAfter: 30_000 }),
    alerts: z
      .object({
        webhooks: z.array(webhook).default([]),
        exec: z.array(execHook).default([]),
        events: z.array(z.enum(ALERT_KINDS)).default(['incident-opened', 'incident-closed', 'heal-failed', 'flapping']),
      })
      .strict()
      .default({ webhooks: [], exec: [], events: ['incident-opened', 'incident-closed', 'heal-failed', 'flapping'] }),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

const configSchema = baseSchema.superRefine((c, ctx) => {
  const seen = new Map<string, number>();
  c.managed.forEach((m, i) => {
    const prev = seen.get(m.name);
    if (prev !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['managed', i, 'name'], message: `duplicate name (also managed[${prev}])` });
    }
    seen.set(m.name, i);
  });
  const mps = new Map<string, number>();
  c.managed.forEach((m, i) => {
    const prev = mps.get(m.mountpoint);
    if (prev !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['managed', i, 'mountpoint'],
        message: `managed[${prev}] already mounts ${m.mountpoint}: two daemons on one mountpoint stack two mounts`,
      });
    }
    mps.set(m.mountpoint, i);
  });
});

export type WatchConfig = z.output<typeof configSchema>;
export type ManagedMountConfig = WatchConfig['managed'][number];
export type WebhookConfig = WatchConfig['alerts']['webhooks'][number];
export type ExecHookConfig = WatchConfig['alerts']['exec'][number];

// The defaults, as an empty config file gives them.
export function defaultConfig(): WatchConfig {
  return configSchema.parse({});
}

// Why a limit: YAML aliases expand on conversion, so a "billion laughs" file of a few lines becomes
// gigabytes; the yaml package refuses beyond maxAliasCount. 100 is plenty for a hand-written config.
const MAX_ALIAS_COUNT = 100;

// Every problem in config text, each as '<file>:<line>: <key>: <message>'; [] when it is valid.
export function configProblems(text: string, file = '<config>'): string[] {
  const r = validate(text, file);
  return 'problems' in r ? r.problems : [];
}

// Parse and validate config text; the first problem becomes ENC_CONFIG '<file>:<line>: <key>: <message>'.
export function parseConfig(text: string, file = '<config>'): WatchConfig {
  const r = validate(text, file);
  if ('problems' in r) throw new EnotconnError('ENC_CONFIG', r.problems[0]!);
  return r.config;
}

function validate(text: string, file: string): { config: WatchConfig } | { problems: string[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((yamlError) => {
        const line = yamlError.linePos?.[0].line ?? lineCounter.linePos(yamlError.pos[0]).line;
        const msg = yamlError.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return `${file}:${line}: (yaml): ${msg}`;
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (e) {
    // The yaml package throws a ReferenceError for too many aliases (and for an undefined one).
    const first = findAlias(doc);
    const line = first ? lineCounter.linePos(first).line : 1;
    const msg = /alias count/i.test((e as Error).message)
      ? `too many alias expansions (more than ${MAX_ALIAS_COUNT}): the file looks like an alias bomb; write the values out`
      : (e as Error).message.split('\n')[0]!;
    return { problems: [`${file}:${line}: (yaml): ${msg}`] };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { problems: [`${file}:1: (root): the config must be a mapping of keys, such as 'interval: 5s'`] };
  }
  const r = configSchema.safeParse(data);
  if (r.success) return { config: r.data };
  // In file order, as a reader fixes them.
  return {
    problems: r.error.issues
      .map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        let keyPath = path;
        let message = issue.message;
        if (issue.code === 'unrecognized_keys') {
          keyPath = [...path, issue.keys[0]!];
          message = `unknown key (allowed: ${allowedKeys(path).join(', ') || 'none'})`;
        } else if (valueAt(data, path) === undefined) {
          message = `is required (${issue.message.replace(/, received undefined$/, '').replace(/^Invalid input: /, '')})`;
        }
        const line = lineOf(doc, lineCounter, keyPath);
        return { line, text: `${file}:${line}: ${formatKey(keyPath)}: ${message}` };
      })
      .sort((a, b) => a.line - b.line)
      .map((p) => p.text),
  };
}

// The offset of the first alias in the document, for the line of an alias-bomb report.
function findAlias(doc: Document): number | null {
  let at: number | null = null;
  visit(doc, {
    Alias(_k, node) {
      at = node.range?.[0] ?? null;
      return visit.BREAK;
    },
  });
  return at;
}

// The text of a config file; a missing or unreadable file is a config error.
export function readConfigText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new EnotconnError(
      'ENC_CONFIG',
      `${file}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: e },
    );
  }
}

// Read and parse a config file; a missing file is a config error too.
export function loadConfig(file: string): WatchConfig {
  return parseConfig(readConfigText(file), file);
}

function valueAt(data: unknown, path: ReadonlyArray<string | number>): unknown {
  let v: unknown = data;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

// `managed[0].argv`, `heal.policy`, or `(root)`.
export function formatKey(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

// The line of the deepest node on `path` that exists: the key itself when present, else its parent.
function lineOf(doc: Document, lc: LineCounter, path: ReadonlyArray<string | number>): number {
  let node: unknown = doc.contents;
  let line = 1;
  const at = (n: Node | null | undefined): void => {
    if (n?.range) line = lc.linePos(n.range[0]).line;
  };
  at(doc.contents as Node | null);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (!pair) break;
      at(pair.key as Node);
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (!item) break;
      at(item);
      node = item;
    } else {
      break;
    }
  }
  return line;
}

function allowedKeys(path: ReadonlyArray<string | number>): string[] {
  const named = path.filter((p): p is string => typeof p === 'string').join('.');
  const table: Record<string, readonly string[]> = {
    '': Object.keys(baseSchema.shape),
    observe: ['all', 'types', 'include', 'exclude'],
    heal: ['policy', 'failuresBeforeIncident', 'timeout', 'force', 'propagate', 'backoff', 'breaker'],
    'heal.backoff': ['initial', 'max', 'factor'],
    'heal.breaker': ['maxHeals', 'window', 'cooldown'],
    managed: Object.keys(managedMount.shape),
    'managed.owner': ['uid', 'gid'],
    managedRestart: ['backoff', 'stableAfter'],
    'managedRestart.backoff': ['initial', 'max', 'factor'],
    alerts: ['webhooks', 'exec', 'events'],
    'alerts.webhooks': Object.keys(webhook.shape),
    'alerts.exec': Object.keys(execHook.shape),
    log: ['level'],
  };
  return [...(table[named] ?? [])];
}
