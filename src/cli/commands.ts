// Every command of the CLI, each loaded only when it runs: scan must not pay for loading watch's
// SQLite, metrics and HTTP code. The tsc build, the single executable and the npm bundle's `all`
// file (help, completion, the man page) use this registry; the npm bundle's per-command files each
// register their one command (scripts/bundle.mjs).
import type { Command } from 'commander';
import type { CommandName } from './command-name.js';
import { addCommands, rootProgram, type Register } from './program.js';

export const COMMANDS: Record<CommandName, () => Promise<Register>> = {
  scan: async () => (await import('./scan.js')).registerScan,
  diagnose: async () => (await import('./diagnose.js')).registerDiagnose,
  heal: async () => (await import('./heal.js')).registerHeal,
  watch: async () => (await import('./watch.js')).registerWatch,
  explain: async () => (await import('./explain.js')).registerExplain,
  runbook: async () => (await import('./runbook.js')).registerRunbook,
  lint: async () => (await import('./lint.js')).registerLint,
  lab: async () => (await import('./lab.js')).registerLab,
  completion: async () => (await import('./completion.js')).registerCompletion,
  man: async () => (await import('./man-page.js')).registerMan,
};

// The full command tree, for completion and the man page (actions are never run).
export async function fullProgram(): Promise<Command> {
  return addCommands(rootProgram(), async () => undefined, COMMANDS);
}
