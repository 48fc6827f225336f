/**
 * Lines out of a byte stream, a chunk at a time, for `db load`. Cheaper than readline's async
 * iterator (one call per chunk instead of one promise per line), and bounded: a "line" that
 * runs past MAX_LINE_BYTES without a newline (a binary file, a log with no line ends) is
 * dropped as it arrives and reported as one overlong line, never held whole in memory.
 *
 * Lines end at \n; a \r before it is removed (CRLF logs). Text is decoded as UTF-8 only at line
 * boundaries, so a character split across two chunks comes out whole.
 */

/** Longer lines are reported as bad, not kept: 1 MiB is far beyond any real access-log line. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** A line, or OVERLONG in its place when it was longer than MAX_LINE_BYTES. */
export const OVERLONG = Symbol('overlong line');
export type SplitLine = string | typeof OVERLONG;

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private overlong = false;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /** The complete lines in `chunk` (with what was carried over from earlier chunks). */
  push(chunk: Buffer): SplitLine[] {
    const lastNl = chunk.lastIndexOf(10);
    if (lastNl === -1) {
      this.keep(chunk);
      return [];
    }
    const out: SplitLine[] = [];
    let start = 0;
    // The first line may continue what was carried; it is the only one that can be overlong so far.
    if (this.carryBytes > 0 || this.overlong) {
      const firstNl = chunk.indexOf(10);
      this.keep(chunk.subarray(0, firstNl));
      out.push(this.takeCarry());
      start = firstNl + 1;
    }
    if (start <= lastNl) {
      const text = chunk.toString('utf8', start, lastNl);
      for (const line of text.split('\n')) out.push(this.fit(line));
    }
    if (lastNl + 1 < chunk.length) this.keep(chunk.subarray(lastNl + 1));
    return out;
  }

  /** What is left after the last newline, as a final line (none when the input ended with \n). */
  end(): SplitLine[] {
    if (this.carryBytes === 0 && !this.overlong) return [];
    return [this.takeCarry()];
  }

  private keep(part: Buffer): void {
    if (this.overlong) return;
    if (this.carryBytes + part.length > this.maxLineBytes) {
      this.overlong = true;
      this.carry = [];
      this.carryBytes = 0;
      return;
    }
    // A copy, so a small tail does not pin the whole chunk it came from.
    this.carry.push(Buffer.from(part));
    this.carryBytes += part.length;
  }

  private takeCarry(): SplitLine {
    const line: SplitLine = this.overlong
      ? OVERLONG
      : stripCr(Buffer.concat(this.carry, this.carryBytes).toString('utf8'));
    this.carry = [];
    this.carryBytes = 0;
    this.overlong = false;
    return line;
  }

  private fit(line: string): SplitLine {
    // Characters, not bytes, but a line in one chunk is at most a chunk long; only the cap matters.
    return line.length > this.maxLineBytes ? OVERLONG : stripCr(line);
  }
}

const stripCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);
