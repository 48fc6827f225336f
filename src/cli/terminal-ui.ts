/**
 * The real Ui: ora spinners and inquirer prompts on a terminal, plain lines elsewhere. Both libraries
 * are loaded only where they are used (together about 0.2 s of start-up on a loaded 2-core machine):
 * inquirer on the first prompt, ora only when standard error is a terminal. `mcp` over stdio and
 * every scripted run never load them.
 */
import { Cancelled } from '../errors.js';
import { makeStyle, noPrompts, type Prompter, type Spinner, type Ui } from './ui.js';

type PromptsModule = typeof import('@inquirer/prompts');

/**
 * Inquirer answers Ctrl-C at a prompt by rejecting with ExitPromptError ("User force closed the
 * prompt"), which would print as a crash and exit 1. Every prompt comes before any change, so it is
 * a cancellation: said plainly, exit 130 as for SIGINT. (Inquirer's own README tells it by `name`.)
 */
async function cancellable<T>(ask: Promise<T>): Promise<T> {
  try {
    return await ask;
  } catch (err) {
    if ((err as Error)?.name === 'ExitPromptError')
      throw new Cancelled('Cancelled at the prompt: nothing was changed.');
    throw err;
  }
}

/** Prompts through inquirer, loaded on the first prompt (`load` lets a test stand in for it). */
export function inquirerPrompter(
  load: () => Promise<PromptsModule> = () => import('@inquirer/prompts'),
): Prompter {
  return {
    input: async (message, o) =>
      cancellable(
        (await load()).input({
          message,
          ...(o?.default === undefined ? {} : { default: o.default }),
          ...(o?.validate ? { validate: o.validate } : {}),
        }),
      ),
    password: async (message) => cancellable((await load()).password({ message, mask: '*' })),
    confirm: async (message, defaultValue) =>
      cancellable((await load()).confirm({ message, default: defaultValue ?? false })),
    select: async (message, choices, defaultValue) =>
      cancellable(
        (await load()).select({
          message,
          choices,
          ...(defaultValue === undefined ? {} : { default: defaultValue }),
        }),
      ),
    checkbox: async (message, choices, o) =>
      cancellable((await load()).checkbox({ message, choices, required: o?.required ?? false })),
  };
}

export async function terminalUi(options: { json: boolean; verbose: boolean }): Promise<Ui> {
  const spinners = Boolean(process.stderr.isTTY) && !options.json;
  const ora = spinners ? (await import('ora')).default : undefined;
  const interactive = Boolean(process.stdout.isTTY) && !options.json;
  const colour = Boolean(process.stderr.isTTY) && !process.env.NO_COLOR && !options.json;
  const style = makeStyle(colour);
  const stdinTty = Boolean(process.stdin.isTTY);
  return {
    json: options.json,
    verbose: options.verbose,
    interactive,
    info: (m) => {
      if (!options.json) process.stdout.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`${style.yellow('warning:')} ${m}\n`),
    debug: (m) => {
      if (options.verbose) process.stderr.write(`${style.dim(m)}\n`);
    },
    result: (v) => {
      if (options.json) process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    },
    resultText: (text) => {
      if (options.json) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    spinner: (m): Spinner => {
      if (!ora) {
        // Off a terminal a spinner is one line when the step ends, on stderr so stdout stays clean.
        return {
          text() {},
          succeed: (s) => process.stderr.write(`✔ ${s ?? m}\n`),
          fail: (s) => process.stderr.write(`✖ ${s ?? m}\n`),
          warn: (s) => process.stderr.write(`⚠ ${s ?? m}\n`),
          stop() {},
        };
      }
      const o = ora({ text: m, stream: process.stderr }).start();
      return {
        text: (t) => {
          o.text = t;
        },
        succeed: (s) => o.succeed(s),
        fail: (s) => o.fail(s),
        warn: (s) => o.warn(s),
        stop: () => o.stop(),
      };
    },
    prompt: stdinTty ? inquirerPrompter() : noPrompts,
    style,
  };
}
