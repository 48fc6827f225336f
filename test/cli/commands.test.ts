/**
 * The command table and the catalog of src/cli/catalog.ts: lazily loaded modules must register exactly
 * the commands, terms and descriptions the catalog gives, since `--help` is built from the catalog.
 */
import { Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_SUMMARIES } from '../../src/cli/catalog.js';
import { makeContext } from '../../src/cli/context.js';
import { buildProgram, main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { COMMANDS, commandWord, loadCommands } from '../../src/commands/index.js';

const noRun = () => async () => {};

describe('the command table', () => {
  it.each(COMMANDS.map((entry) => [entry.module, entry] as const))(
    'the %s module registers exactly the commands, terms and descriptions the catalog gives it',
    async (_name, entry) => {
      const program = new Command();
      (await entry.load())(program, noRun);
      const help = new Help();

      const registered = program.commands.map((c) => ({
        name: c.name(),
        module: entry.module,
        term: help.subcommandTerm(c),
        description: c.description(),
      }));
      expect(registered).toEqual(COMMAND_SUMMARIES.filter((c) => c.module === entry.module));
      expect(entry.names).toEqual(registered.map((r) => r.name));
    },
  );

  it('the catalog names every module, each command once', () => {
    const names = COMMAND_SUMMARIES.map((c) => c.name);

    expect(new Set(names).size).toBe(names.length);
    expect(new Set(COMMAND_SUMMARIES.map((c) => c.module))).toEqual(new Set(COMMANDS.map((e) => e.module)));
  });

  it('--help without loading a module lists what the modules would, word for word', async () => {
    const loaded = await buildProgram(
      ['node', 'chatbot-ops'],
      { ui: recordingUi() },
      { code: 0 },
      { allCommands: true },
    );
    const fromCatalog = await buildProgram(
      ['node', 'chatbot-ops', '--help'],
      { ui: recordingUi() },
      { code: 0 },
    );

    expect(fromCatalog.helpInformation()).toBe(loaded.helpInformation());
  });

  it.each([
    [['node', 'chatbot-ops', 'db', 'load', '-'], 'db'],
    [['node', 'chatbot-ops', '--config', 'deploy', 'status'], 'status'],
    [['node', 'chatbot-ops', '--region', 'eu-west-1', '--json', 'invoke', 'health'], 'invoke'],
    [['node', 'chatbot-ops', '--verbose', '--', 'test'], 'test'],
    [['node', 'chatbot-ops', '--version'], undefined],
  ])('finds the command word of %j', (argv, word) => {
    expect(commandWord(argv)).toBe(word);
  });

  it('loads only the module of the command run (or asked help for), none for the list of commands, all for an unknown word', async () => {
    const deploy = await COMMANDS.find((e) => e.module === 'deploy')?.load();
    const loaded = async (...args: string[]) => [
      ...(await loadCommands(['node', 'chatbot-ops', ...args])).loaded,
    ];

    expect(await loaded('create-api', '--dry-run')).toEqual([['deploy', deploy]]);
    expect(await loaded('help', 'create-api')).toEqual([['deploy', deploy]]);
    for (const args of [['--help'], ['help'], [], ['--version']]) expect(await loaded(...args)).toEqual([]);
    // A word the catalog lacks: every module, so a step not yet in the catalog runs and commander can
    // suggest the closest name.
    expect((await loaded('deplyo')).map(([module]) => module)).toEqual(COMMANDS.map((e) => e.module));
    expect((await loadCommands(['node', 'chatbot-ops', '--help'])).aws).toBe(false);
  });

  it.each([
    ['db', ['db', 'stats']],
    ['local', ['local', 'status']],
    ['package', ['package', '--help']],
  ])('%s does not load the AWS SDK clients', async (_name, args) => {
    expect((await loadCommands(['node', 'chatbot-ops', ...args])).aws).toBe(false);
  });

  it.each([
    [['mcp', '--local'], false],
    [['mcp', '--http', '8080', '--url', 'http://127.0.0.1:3000/prod/chatbot'], false],
    [['tools', '--offline'], false],
    [['invoke', 'health', '--local'], false],
    [['test', '--url=http://127.0.0.1:3000/prod/chatbot'], false],
    [['mcp'], true],
    [['tools', '--format', 'openai'], true],
    [['invoke', 'health', '--direct'], true],
  ])('%j loads the AWS SDK clients: %s (only the deployed API is found through AWS)', async (args, aws) => {
    const saved = process.env.CHATBOT_API_URL;
    delete process.env.CHATBOT_API_URL;
    try {
      expect((await loadCommands(['node', 'chatbot-ops', ...args])).aws).toBe(aws);
    } finally {
      if (saved !== undefined) process.env.CHATBOT_API_URL = saved;
    }
  });

  it('a command that calls AWS without being marked so fails loudly, not silently', async () => {
    const ctx = makeContext({ json: false, yes: false, verbose: false }, recordingUi(), {});

    expect(() => ctx.aws()).toThrow(/not marked as using AWS/);
  });

  it('still suggests the closest command for a misspelt one', async () => {
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(['node', 'chatbot-ops', 'deplyo'], { ui: recordingUi() });
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(2);
    expect(stderr.join('')).toMatch(/Did you mean deploy\?/);
  });
});
