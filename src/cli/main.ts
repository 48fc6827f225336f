/**
 * The chatbot-ops command line: global options, the command list, and the one place where
 * errors become messages and exit codes (0 success, 1 failed operation or check, 2 bad usage).
 */
import { Command, CommanderError, Help, Option } from 'commander';
import { COMMANDS, loadCommands } from '../commands/index.js';
import { Cancelled, UserError } from '../errors.js';
import { packageVersion } from '../version.js';
import { COMMAND_SUMMARIES } from './catalog.js';
import { type Action, type Deps, type GlobalOptions, makeContext } from './context.js';
import { terminalUi } from './terminal-ui.js';
import { PromptUnavailable, type Ui } from './ui.js';

/** The program with the commands `argv` needs (see loadCommands). */
export async function buildProgram(
  argv: readonly string[],
  given: Deps,
  exit: { code: number },
  options: { allCommands?: boolean } = {},
): Promise<Command> {
  const commands = await loadCommands(argv, { all: options.allCommands ?? false });
  const deps: Deps =
    commands.aws && !given.awsFactory
      ? { ...given, awsFactory: (await import('../aws/clients.js')).createAwsClients }
      : given;
  const program = new Command('chatbot-ops')
    .description('Deploy, drive and diagnose the chatbot traffic backend, on AWS or locally.')
    .version(packageVersion(), '-V, --version')
    .option('--config <file>', 'config file', undefined)
    .option('--region <region>', 'AWS region (default: the config, then AWS_REGION / the profile)')
    .option('--profile <name>', 'AWS profile (default: AWS_PROFILE)')
    .addOption(
      new Option('--endpoint-url <url>', 'send every AWS call to this endpoint (LocalStack, emulators)'),
    )
    .option('--json', 'machine-readable output on stdout, nothing else there', false)
    .option('-y, --yes', 'do not ask for confirmation', false)
    .option('--verbose', 'show detail and stack traces', false)
    .showHelpAfterError()
    .exitOverride();

  let ui: Ui | undefined;
  const run =
    <A extends unknown[]>(action: Action<A>) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const options: GlobalOptions = {
        ...g,
        json: Boolean(g.json),
        yes: Boolean(g.yes),
        verbose: Boolean(g.verbose),
      };
      ui = deps.ui ?? (await terminalUi({ json: options.json, verbose: options.verbose }));
      const ctx = makeContext(options, ui, deps);
      const code = await action(ctx, ...(args.slice(0, -1) as A));
      exit.code = typeof code === 'number' ? code : 0;
    };

  // The modules the argv needs register their commands; every other command stands in the list as
  // its line of src/cli/catalog.ts, so `--help` and "did you mean" load no module.
  const terms = new Map<Command, string>();
  for (const entry of COMMANDS) {
    const register = commands.loaded.get(entry.module);
    if (register) {
      register(program, run);
      continue;
    }
    for (const c of COMMAND_SUMMARIES.filter((s) => s.module === entry.module))
      terms.set(program.command(c.name).description(c.description), c.term);
  }
  const help = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd) ?? help.subcommandTerm(cmd) });
  return program;
}

/** Run the CLI; returns the exit code. `deps` lets tests inject a recording Ui and mocked AWS clients. */
export async function main(argv: string[], deps: Deps = {}): Promise<number> {
  // Node 20 is supported (docs/decisions.md). The AWS SDK warns on every run below Node 22 about its
  // own future releases, which a user of this CLI cannot act on; "true" is the value it honours.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const exit = { code: 0 };
  const program = await buildProgram(argv, deps, exit);
  const verbose = argv.includes('--verbose');
  const writeErr = (s: string) => (deps.ui ? deps.ui.warn(s) : process.stderr.write(`${s}\n`));
  try {
    await program.parseAsync(argv);
    return exit.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not failures; commander already printed them.
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return 0;
      return 2;
    }
    if (err instanceof Cancelled) {
      writeErr(err.message);
      if (err.hint) writeErr(`  ${err.hint}`);
      return err.exitCode;
    }
    if (err instanceof UserError) {
      writeErr(`Error: ${err.message}`);
      if (err.hint) writeErr(`  ${err.hint}`);
      if (verbose && err.cause) writeErr(String((err.cause as Error).stack ?? err.cause));
      return err.exitCode;
    }
    if (
      err instanceof PromptUnavailable ||
      (err instanceof Error && /^unexpected prompt: /.test(err.message))
    ) {
      const question =
        err instanceof PromptUnavailable ? err.question : err.message.replace(/^unexpected prompt: /, '');
      writeErr(`Error: this needs an answer: ${question} (no terminal to ask on)`);
      writeErr(
        err instanceof PromptUnavailable && err.kind === 'confirm'
          ? '  Add --yes to go ahead without asking (or --dry-run, where the command has it, to only see what would change).'
          : '  Pass the value as a flag or in the config file, or run on a terminal.',
      );
      return 2;
    }
    const e = err as Error;
    writeErr(`Error: ${e?.message ?? String(err)}`);
    if (verbose) writeErr(String(e?.stack ?? ''));
    else writeErr('  (run with --verbose for details)');
    return 1;
  }
}
