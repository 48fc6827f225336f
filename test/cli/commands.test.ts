/** The command table: lazily loaded modules must still register exactly the names the table gives. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { makeContext } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { COMMANDS, commandWord, loadCommands } from '../../src/commands/index.js';

const noRun = () => async () => {};

describe('the command table', () => {
  it.each(COMMANDS.map((entry) => [entry.names[0], entry] as const))(
    'the %s module registers exactly the names listed for it',
    async (_name, entry) => {
      const program = new Command();
      (await entry.load())(program, noRun);

      const names = [...entry.names, ...((await entry.moreNames?.()) ?? [])];
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...new Set(names)].sort());
    },
  );

  it.each([
    [['node', 'chatbot-ops', 'db', 'load', '-'], 'db'],
    [['node', 'chatbot-ops', '--config', 'deploy', 'status'], 'status'],
    [['node', 'chatbot-ops', '--region', 'eu-west-1', '--json', 'invoke', 'health'], 'invoke'],
    [['node', 'chatbot-ops', '--verbose', '--', 'test'], 'test'],
    [['node', 'chatbot-ops', '--version'], undefined],
  ])('finds the command word of %j', (argv, word) => {
    expect(commandWord(argv)).toBe(word);
  });

  it('loads only the module of the command run, and every module otherwise', async () => {
    expect(await loadCommands(['node', 'chatbot-ops', 'create-api', '--dry-run'])).toEqual({
      modules: [await COMMANDS.find((e) => e.names.includes('deploy'))?.load()],
      aws: true,
    });
    expect((await loadCommands(['node', 'chatbot-ops', 'help'])).modules).toHaveLength(COMMANDS.length);
    expect((await loadCommands(['node', 'chatbot-ops', '--version'])).modules).toEqual([]);
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
