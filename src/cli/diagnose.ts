import type { Command } from 'commander';
import { EnotconnError } from '../errors.js';

// `enotconn diagnose`: not built yet (stub; its issue replaces this file).
export function registerDiagnose(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('diagnose')
    .description('(not built yet)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(() =>
      run(() => Promise.reject(new EnotconnError('ENC_USAGE', 'diagnose is not built yet in this version'))),
    );
}
