/**
 * The import arrows of src/ point down. Every file belongs to a layer; a file may import from its own
 * layer and from layers below it, never above. Type-only imports and dynamic `import()` count too:
 * an arrow that runs back up couples the lower layer to the higher one whatever it carries.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** Top first. A layer is a folder of src/ (or single files); the first pattern that matches wins. */
const LAYERS: { name: string; files: RegExp; why: string }[] = [
  { name: 'entry', files: /^cli\/main\.ts$/, why: 'parses argv and loads the commands' },
  { name: 'commands', files: /^commands\//, why: 'one module per command: validate, run, print' },
  { name: 'doctor', files: /^doctor\//, why: 'checks over facts' },
  { name: 'deploy', files: /^deploy\//, why: 'the deploy steps: plan and apply' },
  { name: 'mcp', files: /^mcp\//, why: 'the MCP server over the tool definitions' },
  { name: 'tools', files: /^tools\//, why: 'tool definitions for language models, from list_intents' },
  { name: 'client', files: /^client\//, why: 'calling the backend over HTTP, and finding it' },
  { name: 'deployment', files: /^deployment\//, why: 'the deployment read model, key rotation' },
  { name: 'local', files: /^local\//, why: 'the local stack' },
  { name: 'ingest', files: /^ingest\//, why: 'the ingest function, and the CLI side of db --remote' },
  { name: 'db', files: /^db\//, why: 'the database tools and the private MariaDB' },
  { name: 'cli', files: /^cli\//, why: 'the Context and Ui every command receives' },
  { name: 'aws', files: /^aws\//, why: 'the only code that builds SDK clients and sends AWS commands' },
  { name: 'package', files: /^(package|cost)\//, why: 'the Lambda bundle; cost arithmetic' },
  { name: 'config', files: /^config\.ts$/, why: 'the config file' },
  { name: 'lambda', files: /^lambda\//, why: 'the backend itself, bundled alone' },
  { name: 'base', files: /^(errors|version)\.ts$/, why: 'the error type, the version' },
];

const rank = (file: string): number => {
  const i = LAYERS.findIndex((l) => l.files.test(file));
  if (i < 0) throw new Error(`src/${file} is in no layer: add it to LAYERS in test/layers.test.ts`);
  return i;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative import targets of one file (static, type-only, re-exports and dynamic), as src/ paths. */
function importsOf(file: string, text: string): string[] {
  const specifiers = [
    ...text.matchAll(/\b(?:import|export)\b[^'";]*?\bfrom\s*'([^']+)'/g),
    ...text.matchAll(/\bimport\s*\(\s*'([^']+)'\s*\)/g),
    ...text.matchAll(/^\s*import\s*'([^']+)'/gm),
  ].map((m) => m[1] as string);
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(SRC, resolve(dirname(join(SRC, file)), s)).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SRC).map((f) => relative(SRC, f));

describe('the import layers of src/', () => {
  it('every file belongs to a layer', () => {
    expect(files.filter((f) => LAYERS.every((l) => !l.files.test(f)))).toEqual([]);
  });

  it('no import runs back up', () => {
    const upward = files.flatMap((file) =>
      importsOf(file, readFileSync(join(SRC, file), 'utf8'))
        .filter((target) => rank(target) < rank(file))
        .map((target) => `${file} (${LAYERS[rank(file)]?.name}) → ${target} (${LAYERS[rank(target)]?.name})`),
    );

    expect(upward).toEqual([]);
  });

  it('finds every kind of import, so the rule above cannot pass by missing one', () => {
    const text = [
      "import { a } from '../aws/x.js';",
      "import type { B } from '../cli/context.js';",
      "export { c } from './y.js';",
      "const m = await import('../deploy/z.js');",
      "import {\n  d,\n  e,\n} from '../db/w.js';",
    ].join('\n');

    expect(importsOf('client/file.ts', text)).toEqual([
      'aws/x.ts',
      'cli/context.ts',
      'client/y.ts',
      'db/w.ts',
      'deploy/z.ts',
    ]);
  });

  it('catches an arrow that runs back up', () => {
    const from = 'aws/api.ts';
    const to = importsOf(from, "import type { Context } from '../cli/context.js';")[0] ?? '';

    expect(rank(to)).toBeLessThan(rank(from));
  });
});
