/**
 * --help and the docs agree: every command and option the CLI lists has its place in docs/ (and
 * the global options in README.md), and nothing documented or written in an example is missing
 * from the CLI. A failure says what to add or remove, and in which file.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { configFields } from '../../src/config.js';
import {
  type CliCommand,
  checkCommandLine,
  cliFromProgram,
  configDocsProblems,
  documentedConfigFields,
  helpDocsProblems,
} from './help-docs.js';
import { type MarkdownFile, readProjectDocs } from './markdown.js';

async function realCli(): Promise<CliCommand> {
  // Every command module loaded, so the walk sees each command's options (`--help` itself lists the
  // commands from src/cli/catalog.ts; test/cli/commands.test.ts checks the two agree).
  const program = await buildProgram(
    ['node', 'chatbot-ops'],
    { ui: recordingUi() },
    { code: 0 },
    {
      allCommands: true,
    },
  );
  return cliFromProgram(program);
}

describe('the CLI and its docs', () => {
  it('every command and option that --help lists is documented, and nothing else is', async () => {
    const problems = helpDocsProblems(await realCli(), readProjectDocs());

    expect(problems, `\n\n${problems.join('\n\n')}\n`).toEqual([]);
  });

  it('the walk sees subcommands and every option, as --help prints them', async () => {
    const cli = await realCli();
    const find = (...path: string[]) =>
      JSON.stringify(path) === '[]'
        ? cli
        : [cli, ...cli.children, ...cli.children.flatMap((c) => c.children)].find(
            (c) => c.path.join(' ') === path.join(' '),
          );

    expect(find('db', 'load')?.options.map((o) => o.flags)).toContain('--max-errors <n>');
    expect(find('local', 'up')?.options.map((o) => o.flags)).toContain('--no-demo');
    expect(find('logs')?.options.map((o) => o.names)).toContainEqual(['-f', '--follow']);
    expect(cli.options.map((o) => o.flags)).toEqual(expect.arrayContaining(['-V, --version', '-h, --help']));
    expect(find('db')?.children.map((c) => c.path.at(-1))).not.toContain('help');
  });
});

describe('the config and its docs', () => {
  it('every field the config accepts has a row in the config table, and the table names no other', () => {
    const problems = configDocsProblems(configFields(), readProjectDocs());

    expect(problems, `\n\n${problems.join('\n\n')}\n`).toEqual([]);
  });

  it("the Next Steps' switches are among them, each with its own command documented", async () => {
    const cli = await realCli();
    const nextSteps = {
      'vpc.secretsManagerEndpoint': 'secrets-endpoint',
      'function.reservedConcurrency': 'concurrency',
      'tracing.enabled': 'tracing',
      'dashboard.enabled': 'dashboard',
      'waf.enabled': 'waf',
      'accessLogs.enabled': 'access-logs',
    };

    expect(documentedConfigFields(readProjectDocs())).toEqual(expect.arrayContaining(Object.keys(nextSteps)));
    for (const command of Object.values(nextSteps))
      expect(cli.children.find((c) => c.path.join(' ') === command)?.options.map((o) => o.flags)).toEqual([
        '--dry-run',
      ]);
  });

  it('reads fields written after a full one as `.name`, and names what is missing or extra', () => {
    const deploy = {
      path: 'docs/deploy.md',
      text: '## The config file (`x.json`)\n\n| field | default |\n|---|---|\n| `waf.enabled` / `.rateLimit` | 1 |\n| `region` | 2 |\n| `waf.nmae` | 3 |\n',
    };

    expect(documentedConfigFields([deploy])).toEqual(['waf.enabled', 'waf.rateLimit', 'region', 'waf.nmae']);
    expect(configDocsProblems(['region', 'waf.enabled', 'waf.rateLimit', 'waf.name'], [deploy])).toEqual([
      expect.stringContaining('The config field `waf.name` is not in the config table of docs/deploy.md'),
      expect.stringContaining('lists `waf.nmae`, which the config does not accept'),
    ]);
  });
});

/** A small CLI shaped like the real one, to show each kind of drift is caught and explained. */
function miniCli(): CliCommand {
  const program = new Command('chatbot-ops').option('--json', 'machine-readable output');
  const db = program.command('db');
  db.command('load')
    .argument('<files...>')
    .option('--format <format>', 'log format')
    .option('--force', 'again');
  db.command('stats');
  program.command('logs').option('-f, --follow', 'keep printing').option('--since <time>', 'how far back');
  return cliFromProgram(program);
}

const readme = `# x\n\n## Global options\n\n| option | meaning |\n|---|---|\n| \`--json\` | JSON |\n| \`-h, --help\` | help |\n`;

function docsWith(
  database: string,
  operate = '## `chatbot-ops logs`\n\n| option | meaning |\n|---|---|\n| `-f, --follow` | f |\n| `--since <time>` | s |\n',
): MarkdownFile[] {
  return [
    { path: 'README.md', text: readme },
    { path: 'docs/database.md', text: database },
    { path: 'docs/operate.md', text: operate },
  ];
}

const goodDatabase = [
  '# DB',
  '## `chatbot-ops db load`',
  '| option | meaning |',
  '|---|---|',
  '| `--format <format>` | f |',
  '| `--force` | again |',
  '',
  '```bash',
  'chatbot-ops db load --format combined access.log',
  'zcat a.gz | chatbot-ops --json db load - # standard input',
  '```',
  '## `chatbot-ops db stats`',
  'No options.',
].join('\n');

describe('the help/docs check itself', () => {
  it('passes docs that match the CLI', () => {
    expect(helpDocsProblems(miniCli(), docsWith(goodDatabase))).toEqual([]);
  });

  it('names a new subcommand, the file of its siblings, and the section to paste', () => {
    const cli = miniCli();
    const db = cli.children.find((c) => c.path[0] === 'db') as CliCommand;
    db.children.push({
      path: ['db', 'rollup'],
      usage: '[options]',
      options: [{ flags: '--days <d>', names: ['--days'], takesValue: true, description: 'how many days' }],
      children: [],
    });

    const [problem, ...rest] = helpDocsProblems(cli, docsWith(goodDatabase));

    expect(rest).toEqual([]);
    expect(problem).toContain('`chatbot-ops db rollup` is listed by --help but has no section in docs/');
    expect(problem).toContain('Add this to docs/database.md');
    expect(problem).toContain('## `chatbot-ops db rollup`');
    expect(problem).toContain('| `--days <d>` | how many days |');
  });

  it('sends a new top-level command of a known area to its file', () => {
    const cli = miniCli();
    cli.children.push({ path: ['mcp'], usage: '[options]', options: [], children: [] });

    expect(helpDocsProblems(cli, docsWith(goodDatabase))).toEqual([
      expect.stringContaining(
        '`chatbot-ops mcp` is listed by --help but has no section in docs/. Add this to docs/chatbot.md',
      ),
    ]);
  });

  it('names an undocumented option and the table to add it to', () => {
    const problems = helpDocsProblems(
      miniCli(),
      docsWith(goodDatabase.replace('| `--force` | again |\n', '')),
    );

    expect(problems).toEqual([
      expect.stringContaining(
        '`chatbot-ops db load` has the option `--force` (--force not documented). Add a row to the options table under docs/database.md:2 ## `chatbot-ops db load`',
      ),
    ]);
  });

  it('names a missing short form', () => {
    const operate =
      '## `chatbot-ops logs`\n\n| option | meaning |\n|---|---|\n| `--follow` | f |\n| `--since <time>` | s |\n';

    expect(helpDocsProblems(miniCli(), docsWith(goodDatabase, operate))).toEqual([
      expect.stringContaining('has the option `-f, --follow` (-f not documented)'),
    ]);
  });

  it('refuses a documented option or command that does not exist', () => {
    const database = `${goodDatabase}\n## \`chatbot-ops db prune\`\n\n| option | meaning |\n|---|---|\n| \`--older-than <d>\` | x |\n`;
    const withExtraOption = database.replace(
      '| `--force` | again |',
      '| `--force` | again |\n| `--dry-run` | no |',
    );

    expect(helpDocsProblems(miniCli(), docsWith(withExtraOption))).toEqual([
      expect.stringContaining('docs/database.md:7 lists the option `--dry-run` for `chatbot-ops db load`'),
      expect.stringContaining(
        'docs/database.md:15 documents `chatbot-ops db prune`, which `chatbot-ops --help` does not list',
      ),
    ]);
  });

  it('refuses a command documented twice', () => {
    const twice = `${goodDatabase}\n## \`chatbot-ops db stats\`\n`;

    expect(helpDocsProblems(miniCli(), docsWith(twice))).toEqual([
      expect.stringContaining(
        '`chatbot-ops db stats` has 2 sections (docs/database.md:12, docs/database.md:14)',
      ),
    ]);
  });

  it('checks the global options table both ways', () => {
    const files = docsWith(goodDatabase);
    (files[0] as MarkdownFile).text = readme.replace('| `--json` | JSON |\n', '| `--jsonl` | JSON lines |\n');

    expect(helpDocsProblems(miniCli(), files)).toEqual([
      expect.stringContaining('The global option `--json` is not in the "Global options" table (README.md)'),
      expect.stringContaining('README.md:7 lists the global option `--jsonl`'),
    ]);
  });

  it('checks every command line written in code, in README.md too', () => {
    const files = docsWith(goodDatabase);
    (files[0] as MarkdownFile).text +=
      '\nRun `./bin/chatbot-ops.js db lod x.log`, then `chatbot-ops logs --tail`.\n\n```bash\nchatbot-ops db load --format combined --batch 10 x.log\n```\n';

    expect(helpDocsProblems(miniCli(), files)).toEqual([
      'README.md:10: `chatbot-ops db lod` is not a command (`chatbot-ops db` has: load, stats), in: ./bin/chatbot-ops.js db lod x.log',
      'README.md:10: `--tail` is not an option of `chatbot-ops logs` (its options: -f, --follow, --since <time>; global ones: see README.md "Global options"), in: chatbot-ops logs --tail',
      'README.md:13: `--batch` is not an option of `chatbot-ops db load` (its options: --format <format>, --force; global ones: see README.md "Global options"), in: chatbot-ops db load --format combined --batch 10 x.log',
    ]);
  });

  it('refuses command sections outside docs/', () => {
    const files = docsWith(goodDatabase);
    (files[0] as MarkdownFile).text += '\n## `chatbot-ops logs`\n';

    expect(helpDocsProblems(miniCli(), files)).toEqual([
      'README.md:10 has a section for `chatbot-ops logs`: the command reference lives in docs/; it is at docs/operate.md:1, so remove this one and link there.',
    ]);
  });

  it('reads command lines as a shell would: values, quotes, pipes and comments', () => {
    const cli = miniCli();

    expect(checkCommandLine(cli, ['--json', 'logs', '--since', '--weird-value', '-f'])).toBeUndefined();
    expect(checkCommandLine(cli, ['logs', '--since=2h', '--help'])).toBeUndefined();
    expect(checkCommandLine(cli, ['db', 'load', '-'])).toBeUndefined();
    expect(checkCommandLine(cli, ['db', '<command>'])).toBeUndefined();
    expect(checkCommandLine(cli, ['dbx'])).toContain('`chatbot-ops dbx` is not a command');
  });
});
