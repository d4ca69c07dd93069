import type { Backend, Endpoint } from './types.js';
import { argvFlag, argvOptions, daemonIs } from './types.js';

// Parse an sshfs source `[user@]host:[path]`, with `[v6addr]` brackets allowed.
export function parseSshTarget(source: string, port?: number): Endpoint | null {
  const m = /^(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+):(.*)$/.exec(source);
  if (!m) return null;
  const host = m[2]!.replace(/^\[|\]$/g, '');
  const p = port ?? 22;
  return {
    kind: 'ssh',
    ...(m[1] !== undefined ? { user: m[1] } : {}),
    host,
    port: p,
    path: m[3] ?? '',
    checkPorts: [p],
    display: `${m[1] !== undefined ? `${m[1]}@` : ''}${host}:${p}`,
  };
}

export const sshfs: Backend = {
  name: 'sshfs',
  kind: 'fuse',
  daemonNames: ['sshfs'],
  matches: (m, ctx) => m.fstype === 'fuse.sshfs' || (m.type === 'fuse' && daemonIs(ctx, ['sshfs'])),
  endpoint: (m, ctx) => {
    // The port is not in mountinfo: take it from the daemon's `-p N` or `-o port=N` when known.
    const portArg =
      argvFlag(ctx.daemonArgv, '-p') ??
      argvOptions(ctx.daemonArgv)
        .find((o) => o.startsWith('port='))
        ?.slice(5);
    const port = portArg !== undefined && /^\d+$/.test(portArg) ? Number(portArg) : undefined;
    return parseSshTarget(m.source, port);
  },
};
