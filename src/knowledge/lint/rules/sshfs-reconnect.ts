import type { Rule } from '../types.js';
import { has, where } from './options.js';

// sshfs exits when its ssh session drops unless `reconnect` is given (libfuse/sshfs#3); the mount
// is then dead and every access fails with ENOTCONN.
export const sshfsReconnect: Rule = {
  id: 'sshfs-reconnect',
  severity: 'warning',
  summary: 'sshfs without reconnect',
  check: (t) =>
    t.backend !== 'sshfs' || !t.optionsKnown || has(t, 'reconnect')
      ? null
      : {
          message: `sshfs mount ${t.mountpoint} has no 'reconnect'`,
          why: 'without reconnect, sshfs exits when the ssh session drops (a network blip, a server restart) and leaves a dead mount: every access fails with ENOTCONN',
          fix: `add 'reconnect' ${where(t)}`,
          change: { kind: 'add-options', options: ['reconnect'] },
        },
};
