// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// OS access stays in src/host (DESIGN section 4): these modules are imported nowhere else in src/,
// except where DESIGN allows it, listed below one by one.
const OS_MODULES = {
  fs: ['fs', 'node:fs', 'fs/promises', 'node:fs/promises'],
  child_process: ['child_process', 'node:child_process'],
  net: ['net', 'node:net'],
  sqlite: ['better-sqlite3'],
};

// The no-restricted-imports rule for src/ outside src/host, allowing the listed groups.
function restrict(...allowed) {
  const names = Object.entries(OS_MODULES)
    .filter(([group]) => !allowed.includes(group))
    .flatMap(([, mods]) => mods);
  return [
    'error',
    {
      paths: [
        ...names.map((name) => ({ name, message: 'OS access goes through src/host (the Host interface)' })),
        // Never build a shell string: every spawn goes through src/host/exec.ts with an argv array.
        { name: 'child_process', importNames: ['exec', 'execSync'], message: 'argv arrays only: use src/host/exec.ts' },
        {
          name: 'node:child_process',
          importNames: ['exec', 'execSync'],
          message: 'argv arrays only: use src/host/exec.ts',
        },
      ].filter(
        (p, i, all) =>
          !('importNames' in p) || !all.some((q, j) => j !== i && q.name === p.name && !('importNames' in q)),
      ),
    },
  ];
}

// Data flows one way: the readers below never import the stages that act on what they read.
const LAYERS = {
  patterns: [
    {
      group: ['**/heal/*', '**/heal/**', '**/watch/*', '**/watch/**', '**/cli/*', '**/cli/**'],
      allowTypeImports: true,
      message: 'evidence/, probe/ and mountinfo/ only read: they never import heal, watch or cli',
    },
  ],
};

export default tseslint.config(
  {
    ignores: ['dist/**', 'packages/*/dist/**', 'node_modules/**', 'coverage/**', 'test/fixtures/**', 'test-results/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': restrict('fs', 'child_process', 'net', 'sqlite'),
      'no-console': 'error',
    },
  },
  { files: ['src/**/*.ts'], rules: { 'no-restricted-imports': restrict() } },
  // The exceptions DESIGN allows, each explicit.
  { files: ['src/host/**/*.ts'], rules: { 'no-restricted-imports': restrict('fs', 'child_process', 'net', 'sqlite') } },
  // The stores own their SQLite file (watch's tables; the recipe store).
  { files: ['src/watch/store.ts'], rules: { 'no-restricted-imports': restrict('sqlite', 'fs') } },
  { files: ['src/mounts/heal/recipe-store.ts'], rules: { 'no-restricted-imports': restrict('sqlite') } },
  // The runtime of the shipped builds: loading the SQLite addon (a single executable extracts it to
  // a private 0700 directory first) and reading enotconn's own package.json for --version.
  { files: ['src/runtime/sqlite.ts'], rules: { 'no-restricted-imports': restrict('sqlite', 'fs') } },
  { files: ['src/runtime/version.ts'], rules: { 'no-restricted-imports': restrict('fs') } },
  // Sockets are the subject of sockets/ (the guard, the lab's peers) and of watch's HTTP server.
  { files: ['src/sockets/**/*.ts'], rules: { 'no-restricted-imports': restrict('net', 'fs') } },
  { files: ['src/watch/http.ts', 'src/watch/request-check.ts'], rules: { 'no-restricted-imports': restrict('net') } },
  // The CLI and the config loader read the input files a user names (--config, --log, --fstab).
  { files: ['src/cli/**/*.ts', 'src/watch/config.ts'], rules: { 'no-restricted-imports': restrict('fs') } },
  {
    files: ['src/mounts/evidence/**/*.ts', 'src/mounts/probe/**/*.ts', 'src/mounts/mountinfo/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', LAYERS] },
  },
  {
    // Only the CLI, the benches and the tests may print.
    files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'src/host/probe-child.ts', 'src/sockets/lab/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
