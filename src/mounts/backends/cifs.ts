import type { Backend, Endpoint } from './types.js';
import { optionValue } from '../mountinfo/parse.js';

// Parse `//server/share[/path]`; the resolved address is in the `addr=` super option.
export function parseCifsSource(source: string, superOptions: readonly string[]): Endpoint | null {
  const m = /^\/\/([^/]+)\/([^/]+)(\/.*)?$/.exec(source.replace(/\\/g, '/'));
  if (!m) return null;
  const host = optionValue(superOptions, 'addr') ?? m[1]!;
  const port = Number(optionValue(superOptions, 'port') ?? '0') || 445;
  const user = optionValue(superOptions, 'username');
  return {
    kind: 'cifs',
    host,
    port,
    path: `/${m[2]}${m[3] ?? ''}`,
    ...(user !== undefined ? { user } : {}),
    checkPorts: [port],
    display: `//${m[1]}/${m[2]} (${host}:${port})`,
  };
}

export const cifs: Backend = {
  name: 'cifs',
  kind: 'network',
  daemonNames: [],
  matches: (m) => m.fstype === 'cifs' || m.fstype === 'smb3' || m.fstype === 'smbfs',
  endpoint: (m) => parseCifsSource(m.source, m.superOptions),
};
