import type { Rule } from '../types.js';
import { sshfsReconnect } from './sshfs-reconnect.js';
import { sshfsKeepalive } from './sshfs-keepalive.js';
import { nfsSoft } from './nfs-soft.js';
import { nfsTimeoRetrans } from './nfs-timeo-retrans.js';
import { fuseServiceRestart } from './fuse-service-restart.js';
import { fuseServiceCleanup } from './fuse-service-cleanup.js';
import { fuseOomProtection } from './fuse-oom-protection.js';
import { fstabNetdevNofail } from './fstab-netdev-nofail.js';
import { fuseAutoUnmount } from './fuse-auto-unmount.js';

// Every lint rule, in report order (the list).
export const RULES: readonly Rule[] = [
  sshfsReconnect,
  sshfsKeepalive,
  nfsSoft,
  nfsTimeoRetrans,
  fuseServiceRestart,
  fuseServiceCleanup,
  fuseOomProtection,
  fstabNetdevNofail,
  fuseAutoUnmount,
];
