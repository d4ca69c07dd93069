import fs from 'node:fs';
import { Option, type Command } from 'commander';
import { EnotconnError } from '../errors.js';
import { closeInheritedFds } from '../host/daemon-launch.js';
import { NodeHost } from '../host/node-host.js';
import { parseDuration } from '../util/duration.js';
import { releaseLazyModule } from '../runtime/release-module.js';
import type * as ConfigModule from '../watch/config.js';
import type { WatchConfig } from '../watch/config.js';
import { installProcessGuard } from '../watch/guard.js';
import { startWatch } from '../watch/daemon.js';
import { parseListen } from '../watch/http.js';
import { createLogger } from '../watch/logger.js';
import type { GlobalOptions } from './context.js';
import { EXIT_OK, EXIT_USAGE } from './exit.js';

interface WatchFlags {
  config?: string;
  interval?: string;
  heal?: boolean;
  healPolicy?: string;
  listen?: string;
  timeout?: string;
  probeTimeout?: string;
  logLevel?: string;
  json?: boolean;
  checkConfig?: string;
}

// The config file read when --config is not given and it exists.
export const DEFAULT_WATCH_CONFIG = '/etc/enotconn/config.yaml';

// `enotconn watch`: the daemon that keeps mounts healthy.
export function registerWatch(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('watch')
    .description('keep mounts healthy: probe, heal, supervise; serve /metrics, /healthz, /api and a status page')
    .option('--config <file>', `YAML config (default: ${DEFAULT_WATCH_CONFIG} when it exists)`)
    .option('--interval <duration>', 'probe interval (overrides the config)')
    .option('--heal', 'heal automatically (heal.policy: on)')
    .option('--heal-policy <policy>', 'off, dry-run or on (overrides the config)')
    .option('--listen <host:port>', 'HTTP address (default 127.0.0.1:9717)')
    .option('--timeout <duration>', 'probe timeout per mount (overrides the config)')
    // The old name, kept for scripts that use it.
    .addOption(new Option('--probe-timeout <duration>').hideHelp())
    .option('--log-level <level>', 'pino log level: error, warn, info, debug')
    .option('--json', 'logs are JSON lines on stdout (always; accepted for symmetry)')
    .option(
      '--check-config <file>',
      'check a config file and exit: 0 when valid, else 2 and file:line: key: message lines',
    )
    .action((flags: WatchFlags, cmd: Command) =>
      run(async () => {
        if (flags.checkConfig !== undefined) return checkConfig(await import('../watch/config.js'), flags.checkConfig);
        const config = applyFlags(await readConfigOnce(flags.config), flags);
        const g = cmd.optsWithGlobals<GlobalOptions>();
        if (g.procRoot !== undefined) {
          throw new EnotconnError(
            'ENC_USAGE',
            'watch runs on the live host only; --proc-root is for one-shot commands',
          );
        }
        // Why 077: the database, audit log and logs hold recipes (argv, env) and incidents; files
        // watch or its sqlite create are then 0600 whatever mode the caller asked for.
        process.umask(0o077);
        const stateDir = g.stateDir ?? config.stateDir;
        const host = new NodeHost(stateDir !== undefined ? { stateDir } : {});
        const log = createLogger(config.log.level);
        const configFile = flags.config ?? (fs.existsSync(DEFAULT_WATCH_CONFIG) ? DEFAULT_WATCH_CONFIG : undefined);
        installProcessGuard(log);
        const closed = closeInheritedFds();
        if (closed.length > 0) log.info({ fds: closed }, 'closed inherited descriptors, so daemons never hold them');
        const w = await startWatch({ host, config, log, ...(configFile !== undefined ? { configFile } : {}) });
        await new Promise<void>((resolve) => {
          const onSignal = (sig: NodeJS.Signals): void => {
            log.info({ signal: sig }, 'signal received');
            process.off('SIGTERM', onSignal);
            process.off('SIGINT', onSignal);
            void w.stop().then(resolve, resolve);
          };
          process.on('SIGTERM', onSignal);
          process.on('SIGINT', onSignal);
        });
        return EXIT_OK;
      }),
    );
}

// `--check-config FILE`, as `promtool check config` and `nginx -t`: every problem on its own line.
type ConfigParser = typeof ConfigModule;

function checkConfig(parser: ConfigParser, file: string): number {
  const problems = parser.configProblems(parser.readConfigText(file), file);
  if (problems.length === 0) {
    process.stdout.write(`${file}: ok\n`);
    return EXIT_OK;
  }
  for (const p of problems) process.stderr.write(`enotconn: ${p}\n`);
  return EXIT_USAGE;
}

// The config, read with a parser (zod, yaml) that is loaded for this moment only and let go once
// the config is read (no reference to it outlives this call): kept, it cost the daemon ~9 MB for
// its whole life.
async function readConfigOnce(file: string | undefined): Promise<WatchConfig> {
  const config = readConfig(await import('../watch/config.js'), file);
  releaseLazyModule('watch-config');
  return config;
}

function readConfig(parser: ConfigParser, file: string | undefined): WatchConfig {
  if (file !== undefined) return parser.loadConfig(file);
  if (fs.existsSync(DEFAULT_WATCH_CONFIG)) return parser.loadConfig(DEFAULT_WATCH_CONFIG);
  return parser.defaultConfig();
}

// Command-line flags win over the config file.
function applyFlags(c: WatchConfig, f: WatchFlags): WatchConfig {
  const out: WatchConfig = { ...c, heal: { ...c.heal }, log: { ...c.log } };
  // The same bounds as the config keys interval and probeTimeout.
  if (f.interval !== undefined) out.interval = parseDuration(f.interval, '--interval', { min: 100, max: 3_600_000 });
  if (f.timeout !== undefined && f.probeTimeout !== undefined) {
    throw new EnotconnError('ENC_USAGE', '--probe-timeout is the old name of --timeout: give one of them');
  }
  if (f.timeout !== undefined) out.probeTimeout = parseDuration(f.timeout, '--timeout', { min: 10, max: 600_000 });
  if (f.probeTimeout !== undefined) {
    out.probeTimeout = parseDuration(f.probeTimeout, '--probe-timeout', { min: 10, max: 600_000 });
  }
  if (f.listen !== undefined) {
    parseListen(f.listen);
    out.listen = f.listen;
  }
  if (f.heal) out.heal.policy = 'on';
  if (f.healPolicy !== undefined) {
    if (f.healPolicy !== 'off' && f.healPolicy !== 'dry-run' && f.healPolicy !== 'on') {
      throw new EnotconnError('ENC_USAGE', `--heal-policy takes off, dry-run or on, not '${f.healPolicy}'`);
    }
    out.heal.policy = f.healPolicy;
  }
  if (f.logLevel !== undefined) {
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
    const l = levels.find((x) => x === f.logLevel);
    if (!l) throw new EnotconnError('ENC_USAGE', `--log-level takes one of ${levels.join(', ')}, not '${f.logLevel}'`);
    out.log.level = l;
  }
  return out;
}
