/** The README stays a five-minute read that starts with the two set-up commands CI runs (.ci/run). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STEPS } from '../../src/deploy/steps.js';
import { linesOf, REPO_ROOT } from './markdown.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

describe('README.md', () => {
  it('is at most 10 KB: reference belongs in docs/', () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(10 * 1024);
  });

  it('opens with the two set-up commands: the local stack, then the whole test suite', () => {
    const firstBlock = linesOf(readme)
      .filter((l) => l.inFence)
      .map((l) => l.text)
      .join('\n')
      .split(/^```\s*$/m)[0];

    expect(firstBlock?.match(/^bash scripts\/setup\.sh && .*$/gm)).toEqual([
      'bash scripts/setup.sh && ./bin/chatbot-ops.js local up',
      'bash scripts/setup.sh && npm test',
    ]);
  });

  it('gives the same test command as CI', () => {
    const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8');

    expect(ci).toMatch(/^bash scripts\/setup\.sh\nnpm test\n/m);
  });

  it("numbers each deploy step's command with the guide step its --help names", () => {
    // A row such as `| 3. Create the function | [`create-function`](...) |`.
    const rows = [...readme.matchAll(/^\| (\d+)\. [^|]*\| \[`([a-z-]+)`\]/gm)].map((m) => [m[2], m[1]]);
    const numbered = new Map(rows as [string, string][]);

    // The guide's numbered steps; its Next Steps share one row, a config switch each.
    for (const step of STEPS.filter((s) => /^\d+$/.test(s.guideStep)))
      expect([step.command, numbered.get(step.command)]).toEqual([step.command, step.guideStep]);
  });
});
