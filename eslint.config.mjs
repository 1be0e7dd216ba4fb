// Lint for the whole monorepo. The nx module-boundary rule enforces the package map of
// docs/architecture.md: protocol packages are leaves (they import neither @boottorrent/config nor
// each other); only apps compose packages.
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '.cache/**',
      '**/dist/**',
      '**/node_modules/**',
      '**/.nx/**',
      '**/test/fixtures/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts', '**/*.mjs', '**/*.js'],
    plugins: { '@nx': nx },
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          enforceBuildableLibDependency: false,
          depConstraints: [
            { sourceTag: 'type:protocol', onlyDependOnLibsWithTags: ['type:testing'] },
            { sourceTag: 'type:config', onlyDependOnLibsWithTags: ['type:testing'] },
            // @boottorrent/lab (namespaces, QEMU) is a leaf the CLI's lab and the test helpers build on.
            { sourceTag: 'type:lab', onlyDependOnLibsWithTags: [] },
            {
              // The boot server composes the protocol packages and config; it ships the agent bundle.
              sourceTag: 'type:server',
              onlyDependOnLibsWithTags: ['type:protocol', 'type:config', 'type:bundle', 'type:testing'],
            },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:lab'] },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:server',
                'type:protocol',
                'type:config',
                'type:bundle',
                'type:lab',
                'type:testing',
              ],
            },
          ],
        },
      ],
    },
  },
  {
    // Shared test helpers are for tests only.
    files: ['packages/*/src/**/*.ts', 'apps/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@boottorrent/testing', '@boottorrent/testing/*'] }],
    },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-console': 'error' },
  },
);
