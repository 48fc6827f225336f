/** What every command receives: the Ui, the global options, the config, and a way to reach AWS. */
import type { Command } from 'commander';
import type { AwsClients, AwsSettings } from '../aws/clients.js';
import { realTiming, type Timing } from '../aws/timing.js';
import { type ChatbotConfig, loadConfig } from '../config.js';
import { UserError } from '../errors.js';
import { type Interrupts, processInterrupts, whileInterruptible } from './interrupt.js';
import type { Ui } from './ui.js';

export interface GlobalOptions {
  config?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  json: boolean;
  yes: boolean;
  verbose: boolean;
}

export interface Context {
  ui: Ui;
  options: GlobalOptions;
  /** The validated config (defaults when the file is absent), loaded on first use. */
  config(): ChatbotConfig;
  configPath(): string;
  /** False when the config file is absent and the defaults stand in for it. */
  configExists(): boolean;
  /** AWS clients with region / profile / endpoint applied, built on first use. */
  aws(): AwsClients;
  /** The clock and waiter delays for waiting on AWS (real ones unless a test passes others). */
  timing(): Timing;
  /**
   * Run a change to AWS so that Ctrl-C meanwhile prints `stopped()` (where it stopped, how to
   * continue) and exits 130 (src/cli/interrupt.ts).
   */
  interruptible<T>(stopped: () => string[], work: () => Promise<T>): Promise<T>;
}

/** Dependencies a test may replace; the real CLI passes none. */
export interface Deps {
  ui?: Ui;
  /**
   * Builds the AWS clients (normally createAwsClients, which main() imports only for the commands that
   * use AWS: the SDK is heavy). Without one, ctx.aws() is a programming error.
   */
  awsFactory?: (settings: AwsSettings) => AwsClients;
  /** A fake clock and short waiter delays, so waits on AWS take no real time in tests. */
  timing?: Timing;
  /** Where Ctrl-C comes from and how the process ends (a test fires it itself). */
  interrupts?: Interrupts;
}

export function makeContext(options: GlobalOptions, ui: Ui, deps: Deps): Context {
  let loaded: { config: ChatbotConfig; path: string; exists: boolean } | undefined;
  let clients: AwsClients | undefined;
  const load = () => {
    loaded ??= loadConfig(options.config);
    return loaded;
  };
  return {
    ui,
    options,
    config: () => load().config,
    configPath: () => load().path,
    configExists: () => load().exists,
    aws: () => {
      if (!clients) {
        const region = options.region ?? load().config.region;
        const settings: AwsSettings = {
          ...(region ? { region } : {}),
          ...(options.profile ? { profile: options.profile } : {}),
          ...(options.endpointUrl ? { endpointUrl: options.endpointUrl } : {}),
        };
        if (!deps.awsFactory) {
          throw new Error('this command is not marked as using AWS (`aws: true` in src/commands/index.ts)');
        }
        clients = deps.awsFactory(settings);
      }
      return clients;
    },
    timing: () => deps.timing ?? realTiming,
    interruptible: (stopped, work) =>
      whileInterruptible(deps.interrupts ?? processInterrupts, (line) => ui.warn(line), stopped, work),
  };
}

// biome-ignore lint/suspicious/noConfusingVoidType: an action that returns nothing exits 0
export type Action<A extends unknown[]> = (ctx: Context, ...args: A) => Promise<number | undefined | void>;

/**
 * Register one command's implementation: commander hands us positional args and the command
 * object; we build the Context from the global options and let the action return an exit code.
 */
export type CommandModule = (
  program: Command,
  run: <A extends unknown[]>(action: Action<A>) => (...args: unknown[]) => Promise<void>,
) => void;

export function assertInteger(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UserError(`${flag} must be a whole number from ${min} to ${max} (got "${value}")`, {
      exitCode: 2,
    });
  }
  return n;
}
