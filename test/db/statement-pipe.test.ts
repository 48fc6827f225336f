/**
 * StatementPipe: statements start in order, never more than its depth at once, and the first
 * failure stops the writer (from send or drain) without an unhandled rejection.
 */
import { describe, expect, it } from 'vitest';
import { StatementPipe } from '../../src/db/statement-pipe.js';

/** A statement the test finishes by hand. */
function manual() {
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { done, finish, fail };
}

describe('StatementPipe', () => {
  it('keeps at most depth statements in flight and starts them in order', async () => {
    // Prepare
    const pipe = new StatementPipe(2);
    const started: number[] = [];
    const statements = [manual(), manual(), manual()];
    const start = (i: number) => () => {
      started.push(i);
      return (statements[i] as ReturnType<typeof manual>).done;
    };

    // Act
    await pipe.send(start(0));
    await pipe.send(start(1));
    const third = pipe.send(start(2));
    await new Promise((r) => setTimeout(r, 10));
    const beforeFirstEnds = [...started];
    statements[0]?.finish();
    await third;

    // Assess
    expect(beforeFirstEnds).toEqual([0, 1]);
    expect(started).toEqual([0, 1, 2]);
    expect(pipe.inFlight).toBe(2);
    statements[1]?.finish();
    statements[2]?.finish();
    await pipe.drain();
    expect(pipe.inFlight).toBe(0);
  });

  it('throws the first failure from the next send, and from drain', async () => {
    // Prepare
    const pipe = new StatementPipe(1);
    const first = manual();
    await pipe.send(() => first.done);

    // Act
    first.fail(new Error('Deadlock found'));
    const next = pipe.send(() => Promise.resolve());

    // Assess
    await expect(next).rejects.toThrow('Deadlock found');
    const other = new StatementPipe(3);
    await other.send(() => Promise.reject(new Error('Lost connection')));
    await expect(other.drain()).rejects.toThrow('Lost connection');
  });

  it('refuses a depth below one', () => {
    expect(() => new StatementPipe(0)).toThrow(/depth must be >= 1/);
  });
});
