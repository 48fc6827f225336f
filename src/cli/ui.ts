/**
 * How commands talk to the person at the terminal: plain lines, JSON, spinners and prompts,
 * behind small interfaces so that commands run silently in tests and under --json, and a test
 * that meets an unexpected prompt fails.
 */
import { styleText } from 'node:util';

export interface Spinner {
  /** Update the text while the step runs. */
  text(message: string): void;
  succeed(message?: string): void;
  fail(message?: string): void;
  warn(message?: string): void;
  stop(): void;
}

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
  /** For a checkbox: chosen already (what the config has and still fits). */
  checked?: boolean;
}

/** Prompts: the interactive parts of a command. Tests pass a scripted implementation. */
export interface Prompter {
  input(
    message: string,
    options?: { default?: string; validate?: (v: string) => true | string },
  ): Promise<string>;
  password(message: string): Promise<string>;
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
  select<T>(message: string, choices: Choice<T>[], defaultValue?: T): Promise<T>;
  checkbox<T>(message: string, choices: Choice<T>[], options?: { required?: boolean }): Promise<T[]>;
}

export interface Ui {
  /** --json: stdout carries one JSON document and nothing else. */
  readonly json: boolean;
  readonly verbose: boolean;
  /** True when stdout is a terminal (spinners, colours, progress bars). */
  readonly interactive: boolean;
  /** A line for people on stdout (suppressed under --json). */
  info(message: string): void;
  /** A warning on stderr. */
  warn(message: string): void;
  /** Detail only shown with --verbose, on stderr. */
  debug(message: string): void;
  /** The machine-readable result: under --json printed to stdout as JSON; otherwise ignored. */
  result(value: unknown): void;
  /** A machine-readable result that is already JSON text (a response body): under --json printed as is. */
  resultText(json: string): void;
  spinner(message: string): Spinner;
  prompt: Prompter;
  /** Colour helpers that degrade to plain text off a terminal or with NO_COLOR. */
  style: Style;
}

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

export function makeStyle(enabled: boolean): Style {
  const wrap =
    (fmt: Parameters<typeof styleText>[0]) =>
    (s: string): string =>
      enabled ? styleText(fmt, s) : s;
  return {
    bold: wrap('bold'),
    dim: wrap('dim'),
    green: wrap('green'),
    red: wrap('red'),
    yellow: wrap('yellow'),
    cyan: wrap('cyan'),
  };
}

/** A prompt with no terminal to ask on (or, in a test, one the test did not expect). */
export class PromptUnavailable extends Error {
  override readonly name = 'PromptUnavailable';
  constructor(
    readonly kind: keyof Prompter,
    readonly question: string,
  ) {
    super(`unexpected prompt: ${question}`);
  }
}

/** A prompter for non-interactive runs: any prompt is an error that says which flag to pass instead. */
export const noPrompts: Prompter = {
  input: (m) => Promise.reject(new PromptUnavailable('input', m)),
  password: (m) => Promise.reject(new PromptUnavailable('password', m)),
  confirm: (m) => Promise.reject(new PromptUnavailable('confirm', m)),
  select: (m) => Promise.reject(new PromptUnavailable('select', m)),
  checkbox: (m) => Promise.reject(new PromptUnavailable('checkbox', m)),
};

const silentSpinner: Spinner = { text() {}, succeed() {}, fail() {}, warn() {}, stop() {} };

/**
 * A Ui that records everything, for tests: `out` holds stdout lines, `err` stderr lines,
 * `results` what was passed to result(). Prompts fail unless a Prompter is given.
 */
export function recordingUi(options: { json?: boolean; prompt?: Prompter; verbose?: boolean } = {}): Ui & {
  out: string[];
  err: string[];
  results: unknown[];
} {
  const out: string[] = [];
  const err: string[] = [];
  const results: unknown[] = [];
  const json = options.json ?? false;
  return {
    json,
    verbose: options.verbose ?? false,
    interactive: false,
    out,
    err,
    results,
    info: (m) => {
      if (!json) out.push(m);
    },
    warn: (m) => err.push(m),
    debug: (m) => {
      if (options.verbose) err.push(m);
    },
    result: (v) => {
      results.push(v);
      if (json) out.push(JSON.stringify(v, null, 2));
    },
    resultText: (text) => {
      results.push(JSON.parse(text));
      if (json) out.push(text);
    },
    spinner: (m) => {
      err.push(m);
      return {
        ...silentSpinner,
        succeed: (s) => err.push(`✔ ${s ?? m}`),
        fail: (s) => err.push(`✖ ${s ?? m}`),
        warn: (s) => err.push(`⚠ ${s ?? m}`),
      };
    },
    prompt: options.prompt ?? noPrompts,
    style: makeStyle(false),
  };
}
