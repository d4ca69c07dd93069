// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
      // Never build a shell string: every spawn goes through src/host/exec.ts with an argv array.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'child_process',
              importNames: ['exec', 'execSync'],
              message: 'argv arrays only: use src/host/exec.ts',
            },
            {
              name: 'node:child_process',
              importNames: ['exec', 'execSync'],
              message: 'argv arrays only: use src/host/exec.ts',
            },
          ],
        },
      ],
      'no-console': 'error',
    },
  },
  {
    // Only the CLI, the benches and the tests may print.
    files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'src/host/probe-child.ts', 'src/sockets/lab/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
