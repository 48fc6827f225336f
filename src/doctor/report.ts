/** How a doctor run is shown: one line per check, the fix under each warn and fail, a summary. */
import type { Style } from '../cli/ui.js';
import { type CheckResult, type DoctorSummary, summarize } from './engine.js';

const MARK = { pass: '✔', warn: '!', fail: '✖', skip: '-' } as const;

export function renderReport(results: readonly CheckResult[], style: Style): string[] {
  const colour = { pass: style.green, warn: style.yellow, fail: style.red, skip: style.dim } as const;
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
      `  ${paint(`${MARK[r.status]} ${r.status.padEnd(4)}`)}  ${r.title.padEnd(width)}  ${r.evidence}`,
    );
    if (r.fix && (r.status === 'fail' || r.status === 'warn'))
      lines.push(`  ${' '.repeat(6)}  ${style.dim('fix:')} ${r.fix}`);
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
    plural(s.skip, 'skipped', 'skipped'),
  ].join(', ');
}

/** The --json document. */
export function reportDocument(results: readonly CheckResult[], extra: Record<string, unknown> = {}) {
  const summary = summarize(results);
  return { ok: summary.fail === 0, summary, ...extra, checks: results };
}
