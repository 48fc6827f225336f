/**
 * Every command module of the CLI, in the order `--help` lists them. Each module registers its own
 * commands; src/cli/catalog.ts lists them with their help, so the list of commands (`--help`, a
 * misspelt command) is built without importing any module. Modules are imported only when one of
 * their commands runs: the AWS SDK clients and the deploy code take about 100 MB and a second or more
 * to load, which `db load`, `local up`, `--help` or `--version` should not pay for. A test checks
 * that each module registers exactly the commands the catalog gives it.
 */
import { COMMAND_SUMMARIES, type CommandModuleName } from '../cli/catalog.js';
import type { CommandModule } from '../cli/context.js';

export interface CommandEntry {
  module: CommandModuleName;
  /** The top-level commands it registers (from src/cli/catalog.ts). */
  names: readonly string[];
  load: () => Promise<CommandModule>;
  /**
   * Its commands call AWS (ctx.aws()): main() then loads the SDK clients. A function decides from the
   * argv, for commands that need AWS only to find the deployed API.
   */
  aws?: true | ((argv: readonly string[]) => boolean);
}

/**
 * `invoke`, `test`, `mcp` and `tools` read the deployed API's URL and key from API Gateway, unless the
 * argv (or CHATBOT_API_URL) names another target. Loading the SDK clients takes about a second, which
 * `mcp --local` would otherwise pay before its first answer.
 */
export function findsDeployedApi(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const args = argv.slice(2);
  if (args.includes('--direct')) return true;
  const otherTarget = args.some(
    (a) => a === '--local' || a === '--offline' || a === '--url' || a.startsWith('--url='),
  );
  return !otherTarget && !env.CHATBOT_API_URL;
}

const entry = (module: CommandModuleName, load: () => Promise<CommandModule>, aws?: CommandEntry['aws']) => ({
  module,
  names: COMMAND_SUMMARIES.filter((c) => c.module === module).map((c) => c.name),
  load,
  ...(aws ? { aws } : {}),
});

export const COMMANDS: readonly CommandEntry[] = [
  // Only `db --remote` (against AWS, not the local stack) calls AWS.
  entry(
    'db',
    async () => (await import('./db.js')).register,
    (argv) => argv.includes('--remote') && !argv.includes('--local'),
  ),
  entry('cost', async () => (await import('./cost.js')).register),
  entry('logs', async () => (await import('./logs.js')).register, true),
  entry('doctor', async () => (await import('./doctor.js')).register, true),
  entry('rotate-key', async () => (await import('./rotate-key.js')).register, true),
  entry('deploy', async () => (await import('./deploy.js')).register, true),
  entry('status', async () => (await import('./status.js')).register, true),
  entry('destroy', async () => (await import('./destroy.js')).register, true),
  entry('package', async () => (await import('./package.js')).register),
  entry('local', async () => (await import('./local.js')).register),
  entry('invoke', async () => (await import('./invoke.js')).register, findsDeployedApi),
  entry('test', async () => (await import('./test.js')).register, findsDeployedApi),
  entry('mcp', async () => (await import('./mcp.js')).register, findsDeployedApi),
  entry('tools', async () => (await import('./tools.js')).register, findsDeployedApi),
];

/** Global options that take a value: the word after them is not the command's name. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--config', '--region', '--profile', '--endpoint-url']);

/** The command word of an argv (`node chatbot-ops [global options] <command> ...`), if any. */
export function commandWord(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') return args[i + 1];
    if (!arg.startsWith('-')) return arg;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
  }
  return undefined;
}

/**
 * The command modules an argv needs: the one owning its command word (for `help <command>`, that
 * command's), or none for `--help`, `help` and no command at all, whose list of commands comes from
 * src/cli/catalog.ts. A word the catalog lacks loads every module: a deploy step registered in
 * src/deploy/steps.ts but not yet in the catalog still runs, and for a misspelt command (an error
 * path, where a second does not matter) commander suggests the closest name. `all` loads every module
 * (the docs test walks every command's options). Also: whether a module loaded calls AWS.
 */
export async function loadCommands(
  argv: readonly string[],
  options: { all?: boolean } = {},
): Promise<{ loaded: ReadonlyMap<CommandModuleName, CommandModule>; aws: boolean }> {
  const word = commandWord(argv);
  const helpFor =
    word === 'help' ? argv.slice(argv.indexOf('help') + 1).find((a) => !a.startsWith('-')) : undefined;
  const name = helpFor ?? word;
  const owners = COMMANDS.filter((e) => name !== undefined && e.names.includes(name));
  const unknown = name !== undefined && name !== 'help' && owners.length === 0;
  const entries = options.all || unknown ? COMMANDS : owners;
  const modules = await Promise.all(entries.map((e) => e.load()));
  return {
    loaded: new Map(entries.map((e, i) => [e.module, modules[i] as CommandModule])),
    aws: entries.some((e) => (typeof e.aws === 'function' ? e.aws(argv) : e.aws === true)),
  };
}
