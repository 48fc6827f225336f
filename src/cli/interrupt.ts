/**
 * Ctrl-C while a command changes AWS. Node would exit 130 at once and print nothing, leaving the
 * user to guess what was half done. While a change runs, a Ctrl-C says where it stopped and how to
 * continue, then exits 130 at once (a change can take minutes; waiting for it is not what was asked).
 * Prompts are not affected: inquirer reads Ctrl-C as a key there (src/cli/terminal-ui.ts).
 */

/** Where Ctrl-C arrives from, and how the process ends; tests pass their own. */
export interface Interrupts {
  /** Call `handler` on the next Ctrl-C (SIGINT); returns a function that stops listening. */
  on(handler: () => void): () => void;
  /** End the process now. */
  exit(code: number): void;
}

export const processInterrupts: Interrupts = {
  on(handler) {
    process.once('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
  exit: (code) => process.exit(code),
};

/**
 * Run `work`; on Ctrl-C meanwhile, `say` the lines `stopped()` returns (where it stopped, what to
 * run to continue) and exit 130.
 */
export async function whileInterruptible<T>(
  interrupts: Interrupts,
  say: (line: string) => void,
  stopped: () => string[],
  work: () => Promise<T>,
): Promise<T> {
  const off = interrupts.on(() => {
    for (const line of stopped()) say(line);
    interrupts.exit(130);
  });
  try {
    return await work();
  } finally {
    off();
  }
}
