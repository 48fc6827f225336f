/**
 * `db load` fed hostile files (issue 16, item 6): control bytes in bad lines never reach the terminal
 * raw, a combined line cut after its referrer is refused under auto-detection too, and a load where
 * every line was bad fails (exit 1) instead of reporting success.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLine } from '../../src/db/access-log-format.js';
import { LOAD_HISTORY_SQL } from '../../src/db/schema.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runDb, scratchDir } from './db-cli.js';

const common = (ip: string, second: number) =>
  `${ip} - - [10/Oct/2025:13:55:${String(second).padStart(2, '0')} +0000] "GET /x HTTP/1.1" 200 10`;
const cutAfterReferrer = (ip: string, second: number) => `${common(ip, second)} "https://example.com/"`;

async function countRows(db: TestDatabase): Promise<number> {
  const [r] = await db.pool.query('SELECT COUNT(*) AS n FROM access_logs');
  return Number((r as { n: number }[])[0]?.n);
}

describe('db load: hostile input', () => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await createTestDatabase('load_hostile');
    await db.pool.query(LOAD_HISTORY_SQL);
    dir = scratchDir();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('shows the control bytes of a bad line as escapes, never raw', async () => {
    // Prepare: a bad line carrying a terminal escape sequence (colour, title change), a bell, a C1
    // control and a right-to-left override, and a host name field quoting some of them.
    const hostile =
      '\u001b]0;pwned\u0007\u001b[31mred\u001b[0m - - [10/Oct/2025:13:55:01 +0000] "GET /\u009b2J HTTP/1.1" 200 1 \u202egnp.exe';
    const file = join(dir, 'hostile.log');
    writeFileSync(file, `${common('10.0.0.1', 0)}\n${hostile}\n`);

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ loaded: 1, errors: 1 });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: proving none of them is printed
    expect(run.err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(run.err).toContain('\\x1b]0;pwned\\x07\\x1b[31mred\\x1b[0m');
    expect(run.err).toContain('\\x9b2J');
    expect(run.err).toContain('\\u{202e}gnp.exe');
  });

  it('refuses a combined line cut after its referrer under auto-detection, in a common file', async () => {
    // Prepare: common lines, and one that reads as common plus one quoted field.
    const file = join(dir, 'cut.log');
    writeFileSync(
      file,
      [
        common('10.0.0.1', 1),
        common('10.0.0.2', 2),
        cutAfterReferrer('10.0.0.3', 3),
        common('10.0.0.4', 4),
      ].join('\n'),
    );

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.result).toMatchObject({
      loaded: 3,
      errors: 1,
      files: [{ format: 'common' }],
      firstErrors: [{ line: 3, reason: 'truncated line: "user-agent" field missing' }],
    });
    expect(await countRows(db)).toBe(3);
  });

  it('refuses such a line in a file made only of them (auto cannot call them common)', () => {
    expect(parseLine(cutAfterReferrer('10.0.0.3', 3))).toEqual({
      ok: false,
      reason: 'truncated line: "user-agent" field missing',
    });
    expect(parseLine(cutAfterReferrer('10.0.0.3', 3), 'common')).toMatchObject({ ok: false });
  });

  it('keeps one extra quoted field when the user says the file is common', async () => {
    // Prepare
    const file = join(dir, 'extra.log');
    writeFileSync(file, `${cutAfterReferrer('10.0.0.3', 3)}\n`);

    // Act
    const run = await runDb(db.database, ['load', '--format', 'common', file]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ loaded: 1, errors: 0, files: [{ format: 'common' }] });
  });

  it('fails (exit 1) with a clear message when every line was bad, and writes nothing', async () => {
    // Prepare: lines that are no access log at all, and cut combined lines.
    const file = join(dir, 'junk.log');
    writeFileSync(file, ['hello world', '', cutAfterReferrer('10.0.0.3', 3), '{"not":"a log"}'].join('\n'));

    // Act
    const run = await runDb(db.database, ['load', file]);
    const again = await runDb(db.database, ['load', file]);

    // Assess: the report is still given (and under --json still printed); nothing was recorded, so a
    // second run reads the file again instead of calling it "already loaded".
    expect(run.code).toBe(1);
    expect(run.err).toContain('Error: no line could be loaded: all 3 non-blank lines were bad');
    expect(run.err).toMatch(/combined or common format/);
    expect(run.result).toMatchObject({ loaded: 0, errors: 3 });
    expect(again.code).toBe(1);
    expect(again.result).toMatchObject({ loaded: 0, errors: 3, files: [{ file, lines: 4 }] });
    expect(await countRows(db)).toBe(0);
  });

  it('an empty file is not a failure: nothing to load, nothing bad', async () => {
    const file = join(dir, 'empty.log');
    writeFileSync(file, '\n\n');
    const run = await runDb(db.database, ['load', file]);
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ loaded: 0, errors: 0 });
  });
});
