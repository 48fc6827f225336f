/**
 * Statements sent on one connection without waiting for each answer, so the server always has the
 * next one when it finishes the last: the writer builds statement k+1 (parsing lines, formatting
 * rows, folding rollup deltas) while the server runs statement k. mysql2 queues the commands of a
 * connection and sends each once the one before it is answered, so order and the transaction are
 * kept; this only bounds how many are queued (each holds its data in memory).
 *
 * Waiting for a slot returns the first failure: the writer stops building and rolls back. The
 * statements queued behind a failed one still run (the server cannot be told to skip them), so
 * the writer must run with autocommit off: a deadlock rolls the transaction back, and a statement
 * run after it would otherwise commit on its own instead of being undone by the writer's ROLLBACK.
 */
export class StatementPipe {
  private readonly queued: Promise<unknown>[] = [];

  /** `depth`: statements in flight at most (sent or waiting in the driver's queue). */
  constructor(private readonly depth = 2) {
    if (!Number.isInteger(depth) || depth < 1) throw new Error(`pipe depth must be >= 1, not ${depth}`);
  }

  /** Start a statement once fewer than `depth` are in flight; throws the first failure seen. */
  async send(start: () => Promise<unknown>): Promise<void> {
    while (this.queued.length >= this.depth) await this.queued.shift();
    const running = start();
    // Observed here so a failure is not reported as unhandled before its turn to be awaited.
    running.catch(() => {});
    this.queued.push(running);
  }

  /** Wait for every statement sent; throws the first failure. */
  async drain(): Promise<void> {
    while (this.queued.length > 0) await this.queued.shift();
  }

  /** Statements sent and not yet awaited. */
  get inFlight(): number {
    return this.queued.length;
  }
}
