#!/usr/bin/env node
// The tsc build's entry point (dist/src/cli/main.js): the CLI with every command. The bundles
// start from bin.ts instead. run-cli.js comes first: it starts the probe engine before the rest loads.
import { main } from './run-cli.js';
import { COMMANDS } from './commands.js';

void main(process.argv, COMMANDS);
