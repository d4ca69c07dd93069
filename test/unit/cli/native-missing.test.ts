// A missing SQLite addon (an install whose native build failed or was skipped) is one line that
// says how to fix it, exit 2: never a stack. The npm bundle is copied beside a better-sqlite3 with
// its JavaScript but no build/ directory.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, freePort, tempDir } from '../../helpers/live.js';
import { runArgv } from '../../helpers/run-argv.js';

test('watch without the SQLite addon: one line, how to fix it, exit 2', async (t) => {
  const dir = tempDir(t, 'enc-ship-native-');
  fs.cpSync(path.join(REPO, 'dist/bundle'), path.join(dir, 'dist/bundle'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const m of ['bindings', 'file-uri-to-path']) {
    fs.cpSync(path.join(REPO, 'node_modules', m), path.join(dir, 'node_modules', m), { recursive: true });
  }
  for (const f of ['package.json', 'lib']) {
    fs.cpSync(path.join(REPO, 'node_modules/better-sqlite3', f), path.join(dir, 'node_modules/better-sqlite3', f), {
      recursive: true,
    });
  }
  const port = await freePort();
  const r = await runArgv(
    [process.execPath, path.join(dir, 'dist/bundle/enotconn.cjs'), 'watch', '--listen', `127.0.0.1:${port}`],
    {
      env: {
        ...process.env,
        NO_COLOR: '1',
        ENOTCONN_STATE_DIR: path.join(dir, 'state'),
        ENOTCONN_RUN_DIR: path.join(dir, 'run'),
      },
      timeoutMs: 30_000,
    },
  );
  assert.equal(
    r.stderr,
    'enotconn: the SQLite module (better-sqlite3) is missing or was built for another Node version: ' +
      'run `npm rebuild better-sqlite3` where enotconn is installed, or use the single executable (dist/enotconn)\n',
  );
  assert.equal(r.code, 2);
});
