/**
 * Every access-log format `db load` and the ingest function read, and telling them apart:
 * Apache/nginx combined and common (access-log-format.ts), ALB and CloudFront (aws-log-formats.ts).
 *
 * A LineParser reads one input: it is stateful because a CloudFront log names its columns in a
 * `#Fields:` line. `parse` returns undefined for such a header line: neither a row nor an error.
 */
import { type ParsedLine, parseLine } from './access-log-format.js';
import { CloudFrontParser, parseAlbLine } from './aws-log-formats.js';

export const LOG_FORMATS = ['combined', 'common', 'alb', 'cloudfront'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LineParser {
  /** A row, the reason the line is not one, or undefined for a header line (CloudFront's `#Fields:`). */
  parse(line: string): ParsedLine<LogFormat> | undefined;
}

/** A parser for one input in a fixed format: lines of another layout are refused with a reason. */
export function createLineParser(format: LogFormat, options: { formatChosen?: boolean } = {}): LineParser {
  switch (format) {
    case 'combined':
    case 'common':
      return { parse: (line) => parseLine(line, format, options) };
    case 'alb':
      return { parse: parseAlbLine };
    case 'cloudfront': {
      const cloudfront = new CloudFrontParser();
      return { parse: (line) => (cloudfront.directive(line) ? undefined : cloudfront.parse(line)) };
    }
  }
}

/**
 * Auto-detection: each candidate reads the first lines of the input; the format that parses the
 * most wins (ties go in LOG_FORMATS order, so a combined/common tie stays combined, as before).
 * Combined and common are one candidate whose lines are counted by the layout they had.
 */
export class FormatDetector {
  private readonly counts: Record<LogFormat, number> = { combined: 0, common: 0, alb: 0, cloudfront: 0 };
  private readonly cloudfront = new CloudFrontParser();
  /** Lines that parsed in some format. */
  goodLines = 0;

  /** Look at one (non-blank) line. */
  add(line: string): void {
    if (this.cloudfront.directive(line)) return;
    let good = false;
    const clf = parseLine(line, 'any');
    if (clf.ok) {
      this.counts[clf.format]++;
      good = true;
    } else if (parseAlbLine(line).ok) {
      this.counts.alb++;
      good = true;
    } else if (this.cloudfront.parse(line).ok) {
      this.counts.cloudfront++;
      good = true;
    }
    if (good) this.goodLines++;
  }

  /** The winning format (combined when nothing parsed, so the errors name what was expected). */
  decide(): LogFormat {
    let best: LogFormat = 'combined';
    for (const format of LOG_FORMATS) if (this.counts[format] > this.counts[best]) best = format;
    return best;
  }
}
