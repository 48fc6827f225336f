/**
 * The doctor's check engine: independent checks run concurrently, each ending in pass / warn /
 * fail / unknown / skip with one line of evidence and, when something is wrong or could not be
 * seen, the fix or what to try. `fail` is kept for a resource that is wrong; a check that could not
 * run (its read was refused, the endpoint answered an HTML page, the answer does not say) is
 * `unknown`, never `fail`, and never stops the other checks. Checks read shared, memoized facts,
 * so two checks that need the same AWS read cause one call.
 */
import { whyNoAnswer } from '../aws/failures.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'unknown' | 'skip';

/** What one check concluded. */
export interface Verdict {
  status: CheckStatus;
  /** One line: what was seen, or why nothing could be (never a secret's value). */
  evidence: string;
  /** What to do about it (warn, fail), or what to try (unknown). */
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
/** The check could not reach a verdict: `reason` says why, `tryThis` what might let it. */
export const unknown = (reason: string, tryThis: string): Verdict => ({
  status: 'unknown',
  evidence: reason,
  fix: tryThis,
});

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
    else {
      // A read that failed says nothing about the resource: the check could not run.
      const { reason, tryThis } = whyNoAnswer(s?.reason);
      verdict = unknown(reason, tryThis);
    }
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

export interface DoctorSummary {
  pass: number;
  warn: number;
  fail: number;
  unknown: number;
  skip: number;
}

export function summarize(results: readonly CheckResult[]): DoctorSummary {
  const s: DoctorSummary = { pass: 0, warn: 0, fail: 0, unknown: 0, skip: 0 };
  for (const r of results) s[r.status] += 1;
  return s;
}

/**
 * Exit code of a doctor run: 1 when any check failed (a resource is wrong). Warnings, skips and
 * checks that could not run do not fail the run, since nothing is known to be wrong; `strict`
 * makes a check that could not run fail it too (for a gate that must see every check pass).
 */
export function exitCodeOf(results: readonly CheckResult[], options: { strict?: boolean } = {}): number {
  if (results.some((r) => r.status === 'fail')) return 1;
  if (options.strict && results.some((r) => r.status === 'unknown')) return 1;
  return 0;
}
