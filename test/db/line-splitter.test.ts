import { describe, expect, it } from 'vitest';
import { LineSplitter, OVERLONG, type SplitLine } from '../../src/db/line-splitter.js';

/** All lines of `chunks` fed one after another, then the end. */
function split(chunks: (string | Buffer)[], max?: number): SplitLine[] {
  const splitter = new LineSplitter(max);
  const out: SplitLine[] = [];
  for (const c of chunks) out.push(...splitter.push(typeof c === 'string' ? Buffer.from(c) : c));
  out.push(...splitter.end());
  return out;
}

describe('LineSplitter', () => {
  it('splits on \\n, drops the \\r of CRLF, keeps blank lines as empty strings', () => {
    expect(split(['a\r\nb\n\nc\n'])).toEqual(['a', 'b', '', 'c']);
  });

  it('returns the last line without a newline at the end', () => {
    expect(split(['a\nb'])).toEqual(['a', 'b']);
  });

  it('joins a line split across chunks, and a \\r\\n split between them', () => {
    expect(split(['ab', 'c\r', '\nde', 'f\n'])).toEqual(['abc', 'def']);
  });

  it('reassembles a UTF-8 character cut between two chunks', () => {
    // Prepare
    const bytes = Buffer.from('café\nnaïve\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of "é"

    // Act
    const lines = split([bytes.subarray(0, cut), bytes.subarray(cut)]);

    // Assess
    expect(lines).toEqual(['café', 'naïve']);
  });

  it('reports a line longer than the limit as OVERLONG without keeping it, and goes on', () => {
    // Prepare: limit 10 bytes; the long line arrives in pieces, with no newline for a while
    const chunks = ['ok\n0123456', '789abcdef', 'ghij\nnext\n'];

    // Act
    const lines = split(chunks, 10);

    // Assess
    expect(lines).toEqual(['ok', OVERLONG, 'next']);
  });

  it('reports an overlong line inside one chunk, and an overlong last line', () => {
    expect(split(['a\n0123456789abc\nb\nxxxxxxxxxxxxxxxx'], 10)).toEqual(['a', OVERLONG, 'b', OVERLONG]);
  });

  it('gives nothing for empty input and for input that ends with a newline', () => {
    expect(split([])).toEqual([]);
    expect(split(['a\n'])).toEqual(['a']);
  });
});
