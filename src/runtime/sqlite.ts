// Opening SQLite (better-sqlite3) from any build: the tsc build and the npm bundle load the addon
// from node_modules; a single executable carries it as an asset and loads it with process.dlopen.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EnotconnError } from '../errors.js';
import { bundleInfo } from './bundle.js';

// The asset name of the addon inside a single executable (scripts/build-sea.mjs embeds it).
export const SQLITE_ASSET = 'better_sqlite3.node';

let seaAddon: object | null = null;

// The addon embedded in the single executable, extracted once to a private directory and loaded.
function loadSeaAddon(): object {
  if (seaAddon !== null) return seaAddon;
  const sea = process.getBuiltinModule('node:sea');
  const bytes = Buffer.from(sea.getAsset(SQLITE_ASSET));
  // Why a fresh mkdtemp directory: mkdtemp creates it 0700 with an unpredictable name, so no other
  // user can plant or swap the file between the write and dlopen. Once loaded, the mapping stays
  // valid after unlink (dlopen(3) keeps the object mapped), so nothing is left behind.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enotconn-native-'));
  const file = path.join(dir, SQLITE_ASSET);
  try {
    fs.writeFileSync(file, bytes, { mode: 0o500, flag: 'wx' });
    const mod = { exports: {} as object };
    process.dlopen(mod, file);
    seaAddon = mod.exports;
    return seaAddon;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// True when `e` says the addon is missing or was built for another Node.
function nativeMissing(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  return (
    code === 'ERR_DLOPEN_FAILED' ||
    /bindings file|NODE_MODULE_VERSION|better_sqlite3\.node|Cannot find module/.test(msg)
  );
}

// Open (or create) the SQLite database at `file`; a missing addon is one EnotconnError line.
export function openDatabase(file: string): Database.Database {
  const b = bundleInfo();
  let options: Database.Options = {};
  try {
    if (b?.sea === true) options = { nativeBinding: loadSeaAddon() as unknown as string };
    return new Database(file, options);
  } catch (e) {
    if (!nativeMissing(e)) throw e;
    throw new EnotconnError(
      'ENC_NATIVE',
      'the SQLite module (better-sqlite3) is missing or was built for another Node version: ' +
        'run `npm rebuild better-sqlite3` where enotconn is installed, or use the single executable (dist/enotconn)',
      { cause: e },
    );
  }
}
