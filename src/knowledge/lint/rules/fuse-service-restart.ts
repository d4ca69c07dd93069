import type { Rule } from '../types.js';
import { last } from '../systemd-unit.js';

const RESTARTING = new Set(['on-failure', 'always', 'on-abnormal', 'on-abort']);

// A FUSE daemon that dies leaves a dead mount; only a restart brings it back without a human.
export const fuseServiceRestart: Rule = {
  id: 'fuse-service-restart',
  severity: 'warning',
  summary: 'FUSE service without Restart=on-failure',
  check: (t) => {
    if (!t.unit?.name.endsWith('.service')) return null;
    const restart = last(t.unit, 'Service', 'Restart')?.value ?? 'no';
    if (RESTARTING.has(restart)) return null;
    return {
      message: `${t.unit.name} runs a FUSE daemon with Restart=${restart}`,
      why: 'when the daemon crashes or is OOM-killed, the mount stays dead (ENOTCONN) until someone restarts the unit by hand',
      fix: 'add Restart=on-failure and RestartSec=5s in a drop-in',
      change: {
        kind: 'service',
        directives: [
          ['Restart', 'on-failure'],
          ['RestartSec', '5s'],
        ],
      },
    };
  },
};
