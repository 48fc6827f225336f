/**
 * The one error type meant for the user: what went wrong and what to do about it.
 * `bin/` (src/cli/main.ts) prints it without a stack; anything else is a bug and shows
 * its stack only under --verbose.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  /** What the user can do about it, printed on its own line. */
  readonly hint: string | undefined;
  /** Process exit code: 1 for a failed operation, 2 for bad usage. */
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/**
 * The user stopped the run (Ctrl-C at a prompt, or during a change): exit code 130, as for SIGINT.
 * Printed without "Error:": it is not a failure of the tool.
 */
export class Cancelled extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: 130, ...(hint === undefined ? {} : { hint }) });
  }
}

/** Bad flags or arguments: exit code 2. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: 2, ...(hint === undefined ? {} : { hint }) });
  }
}
