// Every lab scenario, in the order `enotconn lab --list` prints them.
import { blackholeTimeout } from './blackhole-timeout.js';
import { connectRefused } from './connect-refused.js';
import { endAfterReset } from './end-after-reset.js';
import { halfCloseWrite } from './half-close-write.js';
import { linkDownConnect } from './link-down-connect.js';
import { natReset } from './nat-reset.js';
import { pausedReset } from './paused-reset.js';
import { resetDuringRead } from './reset-during-read.js';
import type { Scenario } from './types.js';
import { useAfterDestroy } from './use-after-destroy.js';
import { writeAfterReset } from './write-after-reset.js';

export const SCENARIOS: readonly Scenario[] = [
  connectRefused,
  resetDuringRead,
  writeAfterReset,
  endAfterReset,
  halfCloseWrite,
  pausedReset,
  useAfterDestroy,
  natReset,
  blackholeTimeout,
  linkDownConnect,
];

// The scenario called `name`, or null.
export function findScenario(name: string): Scenario | null {
  return SCENARIOS.find((s) => s.name === name) ?? null;
}
