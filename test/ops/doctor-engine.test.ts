import { describe, expect, it } from 'vitest';
import {
  type Check,
  exitCodeOf,
  fail,
  memoize,
  pass,
  redact,
  required,
  runChecks,
  warn,
} from '../../src/doctor/engine.js';

describe('check engine', () => {
  it('runs checks concurrently, keeps their order, and isolates a crash', async () => {
    const started: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const checks: Check<{ n: number }>[] = [
      {
        id: 'slow',
        group: 'g',
        title: 'waits for the second to start',
        async run() {
          started.push('slow');
          await gate;
          return pass('done');
        },
      },
      {
        id: 'second',
        group: 'g',
        title: 'releases the first',
        run() {
          started.push('second');
          release();
          return warn('seen', 'do this');
        },
      },
      {
        id: 'crash',
        group: 'g',
        title: 'throws',
        run() {
          throw new TypeError('cannot read x of undefined');
        },
      },
      {
        id: 'needs',
        group: 'g',
        title: 'misses a prerequisite',
        run: (f) => pass(String(required(f.n > 1 ? f.n : undefined, 'n is too small'))),
      },
    ];

    const results = await runChecks(checks, { n: 1 });

    expect(started).toEqual(['slow', 'second']);
    expect(results.map((r) => [r.id, r.status, r.evidence])).toEqual([
      ['slow', 'pass', 'done'],
      ['second', 'warn', 'seen'],
      ['crash', 'unknown', 'the check itself failed: TypeError: cannot read x of undefined'],
      ['needs', 'skip', 'n is too small'],
    ]);
    expect(results[2]?.fix).toMatch(/Run it again with --verbose/);
  });

  it('a check that could not run is not a failed check: exit 0, 1 only with strict; a fail is 1 either way', () => {
    const result = (status: 'pass' | 'warn' | 'fail' | 'unknown' | 'skip') => ({
      id: status,
      group: 'g',
      title: 't',
      status,
      evidence: '',
    });
    const couldNotRun = [result('pass'), result('warn'), result('skip'), result('unknown')];

    expect(exitCodeOf(couldNotRun)).toBe(0);
    expect(exitCodeOf(couldNotRun, { strict: true })).toBe(1);
    expect(exitCodeOf([...couldNotRun.slice(0, 3)], { strict: true })).toBe(0);
    expect(exitCodeOf([result('pass'), result('fail')])).toBe(1);
    expect(exitCodeOf([result('pass'), result('fail')], { strict: true })).toBe(1);
  });

  it('redacts secrets from every result, whatever a check put in it', async () => {
    const secret = 'SuperSecretKeyValue123';
    const results = await runChecks(
      [{ id: 'leaky', group: 'g', title: 't', run: () => fail(`key ${secret} refused`, `use ${secret}`) }],
      {},
      { secrets: () => [secret] },
    );

    expect(results[0]).toMatchObject({ evidence: 'key **** refused', fix: 'use ****' });
    expect(redact('abc', ['abc'])).toBe('abc');
  });

  it('memoizes a read for every caller', async () => {
    let calls = 0;
    const read = memoize(async () => ++calls);

    const values = await Promise.all([read(), read(), read()]);

    expect(values).toEqual([1, 1, 1]);
  });
});
