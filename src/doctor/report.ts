/** How a doctor run is shown: one line per check, the fix under each warn and fail (what to try under each unknown), a summary. */
import type { Style } from '../cli/ui.js';
import { type CheckResult, type DoctorSummary, summarize } from './engine.js';

const MARK = { pass: '✔', warn: '!', fail: '✖', unknown: '?', skip: '-' } as const;
/** Every status label padded to the longest, so the titles line up. */
const LABEL_WIDTH = 'unknown'.length;

export function renderReport(results: readonly CheckResult[], style: Style): string[] {
  const colour = {
    pass: style.green,
    warn: style.yellow,
    fail: style.red,
    unknown: style.yellow,
    skip: style.dim,
  } as const;
  const width = Math.max(...results.map((r) => r.title.length), 0);
  const lines: string[] = [];
  let group = '';
  for (const r of results) {
    if (r.group !== group) {
      if (group !== '') lines.push('');
      group = r.group;
      lines.push(style.bold(group));
    }
    const paint = colour[r.status];
    lines.push(
      `  ${paint(`${MARK[r.status]} ${r.status.padEnd(LABEL_WIDTH)}`)}  ${r.title.padEnd(width)}  ${r.evidence}`,
    );
    if (r.fix && (r.status === 'fail' || r.status === 'warn'))
      lines.push(`  ${' '.repeat(LABEL_WIDTH + 2)}  ${style.dim('fix:')} ${r.fix}`);
    else if (r.fix && r.status === 'unknown')
      lines.push(`  ${' '.repeat(LABEL_WIDTH + 2)}  ${style.dim('try:')} ${r.fix}`);
  }
  const s = summarize(results);
  lines.push('');
  lines.push(summaryLine(s));
  return lines;
}

export function summaryLine(s: DoctorSummary): string {
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return [
    plural(s.pass, 'passed', 'passed'),
    plural(s.warn, 'warning', 'warnings'),
    plural(s.fail, 'failed', 'failed'),
    plural(s.unknown, 'could not run', 'could not run'),
    plural(s.skip, 'skipped', 'skipped'),
  ].join(', ');
}

/** The --json document: `ok` when nothing failed, `complete` when every check could run. */
export function reportDocument(results: readonly CheckResult[], extra: Record<string, unknown> = {}) {
  const summary = summarize(results);
  return { ok: summary.fail === 0, complete: summary.unknown === 0, summary, ...extra, checks: results };
}
