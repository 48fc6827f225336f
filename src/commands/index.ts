/**
 * Every command of the CLI, in the order `--help` lists them. Each module registers its own commands.
 * Modules are imported only when one of their commands runs: the AWS SDK clients and the deploy code
 * take about 100 MB and a second or more to load, which `db load`, `local up` or `--version` should
 * not pay for. `names` and `moreNames` must list every top-level command a module registers (a test
 * checks it).
 */
import type { CommandModule } from '../cli/context.js';

export interface CommandEntry {
  names: readonly string[];
  load: () => Promise<CommandModule>;
  /**
   * Its commands call AWS (ctx.aws()): main() then loads the SDK clients. A function decides from the
   * argv, for commands that need AWS only to find the deployed API.
   */
  aws?: true | ((argv: readonly string[]) => boolean);
  /**
   * Names known once the module is loaded: the deploy module registers one command per deploy step
   * (src/deploy/steps.ts), so adding a step needs no edit here.
   */
  moreNames?: () => Promise<readonly string[]>;
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

export const COMMANDS: readonly CommandEntry[] = [
  {
    names: ['db'],
    // Only `--remote` (against AWS, not the local stack) calls AWS.
    aws: (argv) => argv.includes('--remote') && !argv.includes('--local'),
    load: async () => (await import('./db.js')).register,
  },
  { names: ['cost'], load: async () => (await import('./cost.js')).register },
  { names: ['logs'], aws: true, load: async () => (await import('./logs.js')).register },
  { names: ['doctor'], aws: true, load: async () => (await import('./doctor.js')).register },
  { names: ['rotate-key'], aws: true, load: async () => (await import('./rotate-key.js')).register },
  {
    names: ['deploy'],
    aws: true,
    load: async () => (await import('./deploy.js')).register,
    moreNames: async () => (await import('./deploy.js')).commandNames(),
  },
  { names: ['status'], aws: true, load: async () => (await import('./status.js')).register },
  { names: ['destroy'], aws: true, load: async () => (await import('./destroy.js')).register },
  { names: ['package'], load: async () => (await import('./package.js')).register },
  { names: ['local'], load: async () => (await import('./local.js')).register },
  { names: ['invoke'], aws: findsDeployedApi, load: async () => (await import('./invoke.js')).register },
  { names: ['test'], aws: findsDeployedApi, load: async () => (await import('./test.js')).register },
  { names: ['mcp'], aws: findsDeployedApi, load: async () => (await import('./mcp.js')).register },
  { names: ['tools'], aws: findsDeployedApi, load: async () => (await import('./tools.js')).register },
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
 * The command modules an argv needs: the one owning its command word, or all of them for help, an
 * unknown word (so commander can suggest the closest name) or no command at all (none for --version);
 * and whether any of them calls AWS.
 */
export async function loadCommands(
  argv: readonly string[],
): Promise<{ modules: CommandModule[]; aws: boolean }> {
  const word = commandWord(argv);
  let owner = COMMANDS.find((entry) => word !== undefined && entry.names.includes(word));
  for (const entry of COMMANDS) {
    if (owner || word === undefined || !entry.moreNames) continue;
    if ((await entry.moreNames()).includes(word)) owner = entry;
  }
  const versionOnly = word === undefined && argv.some((arg) => arg === '--version' || arg === '-V');
  const entries = owner ? [owner] : versionOnly ? [] : COMMANDS;
  return {
    modules: await Promise.all(entries.map((entry) => entry.load())),
    aws: entries.some((entry) => (typeof entry.aws === 'function' ? entry.aws(argv) : entry.aws === true)),
  };
}
