/**
 * The doctor's check engine: independent checks run concurrently, each ending in pass / warn /
 * fail / skip with one line of evidence and, when something is wrong, the fix. A check that
 * crashes is a fail of that check, never of the whole run. Checks read shared, memoized facts,
 * so two checks that need the same AWS read cause one call.
 */

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** What one check concluded. */
export interface Verdict {
  status: CheckStatus;
  /** One line: what was seen (never a secret's value). */
  evidence: string;
  /** What to do about it; present for warn and fail. */
  fix?: string;
}

export interface CheckResult extends Verdict {
  id: string;
  title: string;
  group: string;
}

export interface Check<F> {
  /** Stable id for --json and the README mapping, e.g. `vpc.security-groups`. */
  id: string;
  group: string;
  title: string;
  run(facts: F): Promise<Verdict> | Verdict;
}

/** Thrown (through `skipBecause`) when a prerequisite is missing: the check is skipped, not failed. */
export class CheckSkipped extends Error {
  override readonly name = 'CheckSkipped';
}

export const pass = (evidence: string): Verdict => ({ status: 'pass', evidence });
export const warn = (evidence: string, fix: string): Verdict => ({ status: 'warn', evidence, fix });
export const fail = (evidence: string, fix: string): Verdict => ({ status: 'fail', evidence, fix });
export const skip = (reason: string): Verdict => ({ status: 'skip', evidence: reason });

/** A read done once per run (shared with the deployment model): later callers share its promise. */
export { memoize } from '../deployment/deployment.js';

/** Stop the current check as skipped: its prerequisite (named in `reason`) is missing. */
export function skipBecause(reason: string): never {
  throw new CheckSkipped(reason);
}

/** The value, or skip the check with `reason` when it is undefined. */
export function required<T>(value: T | undefined, reason: string): T {
  if (value === undefined) skipBecause(reason);
  return value;
}

/**
 * Replace every occurrence of a secret with `****`. A safety net over everything a check returns:
 * checks are written never to include secrets, and this makes sure a stray error message does not.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('****');
  return out;
}

export interface RunOptions {
  /** Secret values that must never appear in results (API key values, the DB password). */
  secrets?: () => readonly string[];
}

/** Run every check concurrently; results keep the checks' order. */
export async function runChecks<F>(
  checks: readonly Check<F>[],
  facts: F,
  options: RunOptions = {},
): Promise<CheckResult[]> {
  const settled = await Promise.allSettled(checks.map(async (c) => c.run(facts)));
  const secrets = options.secrets?.() ?? [];
  return checks.map((check, i): CheckResult => {
    const s = settled[i];
    let verdict: Verdict;
    if (s?.status === 'fulfilled') verdict = s.value;
    else if (s?.reason instanceof CheckSkipped) verdict = skip(s.reason.message);
    else
      verdict = fail(
        `the check itself failed: ${errorText(s?.reason)}`,
        'Re-run with --verbose; if it persists, check the permissions of your AWS credentials for this read.',
      );
    return {
      id: check.id,
      group: check.group,
      title: check.title,
      status: verdict.status,
      evidence: redact(verdict.evidence, secrets),
      ...(verdict.fix === undefined ? {} : { fix: redact(verdict.fix, secrets) }),
    };
  });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`;
  return String(err);
}

export interface DoctorSummary {
  pass: number;
  warn: number;
  fail: number;
  skip: number;
}

export function summarize(results: readonly CheckResult[]): DoctorSummary {
  const s: DoctorSummary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) s[r.status] += 1;
  return s;
}

/** Exit code of a doctor run: 1 when any check failed. Warnings do not fail the run. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
