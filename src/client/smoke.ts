/**
 * The smoke suite of `chatbot-ops test`, as independent checks against one API: the documented answers
 * for a good request, and the refusals for a missing key, a wrong key, an unknown intent and bad params.
 */
import type { ApiResponse } from './api-client.js';
import { summarizeBody } from './body-text.js';
import { ChatbotClient } from './chatbot-client.js';
import { explainFailure } from './explain.js';
import type { ApiTarget } from './target.js';

export interface CheckResult {
  name: string;
  passed: boolean;
  ms: number;
  /** What was seen when it failed; the status when it passed. */
  detail: string;
  /** For a failure: what it means and what to do, when that is known. */
  hint?: string;
}

interface SmokeCheck {
  name: string;
  body: unknown;
  /** 'valid' sends the target's key, 'none' no header, 'wrong' a key nobody issued. */
  key: 'valid' | 'none' | 'wrong';
  /** undefined when the answer is right, else what is wrong with it. */
  verify: (r: ApiResponse) => string | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The documented success envelope; returns its data or a complaint. */
function success(r: ApiResponse): Record<string, unknown> | string {
  if (r.status !== 200) return `expected 200, got ${r.status} ${summarizeBody(r.text, 120)}`;
  const j = r.json;
  if (!isObject(j)) return 'the body is not a JSON object';
  if (j.success !== true) return 'success is not true';
  if (typeof j.request_id !== 'string' || j.request_id === '') return 'request_id is missing';
  if (!isObject(j.data)) return 'data is not an object';
  return j.data;
}

function failure(r: ApiResponse, statuses: number[], code?: string): string | undefined {
  if (!statuses.includes(r.status))
    return `expected ${statuses.join(' or ')}, got ${r.status} ${summarizeBody(r.text, 120)}`;
  if (code === undefined) return undefined;
  const j = r.json;
  if (!isObject(j) || j.success !== false) return 'expected {"success": false, ...}';
  return j.error_code === code ? undefined : `expected error_code ${code}, got ${String(j.error_code)}`;
}

function missing(
  data: Record<string, unknown>,
  fields: Record<string, 'number' | 'object' | 'string'>,
): string | undefined {
  for (const [field, type] of Object.entries(fields)) {
    const v = data[field];
    const ok = type === 'object' ? isObject(v) : typeof v === type;
    if (!ok) return `data.${field} should be ${type === 'object' ? 'an object' : `a ${type}`}`;
  }
  return undefined;
}

export const SMOKE_CHECKS: SmokeCheck[] = [
  {
    name: 'get_traffic_summary answers 200 with the documented shape',
    body: { intent: 'get_traffic_summary', params: { hours: 24 } },
    key: 'valid',
    verify: (r) => {
      const data = success(r);
      if (typeof data === 'string') return data;
      const m = missing(data, {
        total_requests: 'number',
        error_count: 'number',
        error_rate: 'number',
        top_endpoints: 'object',
        top_ips: 'object',
        status_breakdown: 'object',
      });
      if (m) return m;
      const breakdown = data.status_breakdown as Record<string, unknown>;
      return ['2xx', '3xx', '4xx', '5xx'].every((k) => typeof breakdown[k] === 'number')
        ? undefined
        : 'data.status_breakdown should count 2xx, 3xx, 4xx and 5xx';
    },
  },
  {
    name: 'health answers 200 with the database reachable',
    body: { intent: 'health' },
    key: 'valid',
    verify: (r) => {
      const data = success(r);
      if (typeof data === 'string') return data;
      if (data.status !== 'ok') return `data.status is ${JSON.stringify(data.status)}, not "ok"`;
      const db = data.database;
      if (!isObject(db) || db.reachable !== true) return 'data.database.reachable is not true';
      return typeof db.latency_ms === 'number' ? undefined : 'data.database.latency_ms should be a number';
    },
  },
  {
    name: 'no API key is refused with 403',
    body: { intent: 'health' },
    key: 'none',
    verify: (r) => failure(r, [403]),
  },
  {
    name: 'a wrong API key is refused with 401 or 403',
    body: { intent: 'health' },
    key: 'wrong',
    verify: (r) => failure(r, [401, 403]),
  },
  {
    name: 'an unknown intent answers 400 UNKNOWN_INTENT',
    body: { intent: 'no_such_intent' },
    key: 'valid',
    verify: (r) => failure(r, [400], 'UNKNOWN_INTENT'),
  },
  {
    name: 'bad params answer 400 INVALID_PARAMS',
    body: { intent: 'get_traffic_summary', params: { top_n: 0 } },
    key: 'valid',
    verify: (r) => failure(r, [400], 'INVALID_PARAMS'),
  },
];

/** Why a failed check failed, in the words `invoke` uses for the same answer. */
function hintFor(check: SmokeCheck, r: ApiResponse, target: ApiTarget): string | undefined {
  if (check.key !== 'valid' && r.status >= 200 && r.status < 300) {
    return check.key === 'none'
      ? 'The API answered without a key: the POST method needs apiKeyRequired and the stage a redeployment after it (`chatbot-ops create-api`; `chatbot-ops doctor` checks both).'
      : "A key nobody issued was accepted: the function's API_KEYS or the usage plan lets any key through; run `chatbot-ops doctor`.";
  }
  if (
    check.key === 'valid' &&
    (r.status === 401 || r.status === 403 || r.status === 429 || r.status >= 500)
  ) {
    const why = explainFailure(r, target);
    return why.hint ? `${why.message}. ${why.hint}` : why.message;
  }
  return undefined;
}

/** A key of API Gateway's shape that no usage plan holds. */
const WRONG_KEY = 'chatbotOpsSmokeTestWrongKey0000000000000';

/** Run every check in turn (in turn, so the suite itself never trips the usage plan's throttle). */
export async function runSmokeChecks(
  target: ApiTarget,
  checks: SmokeCheck[] = SMOKE_CHECKS,
): Promise<CheckResult[]> {
  // No retries: a check judges the first answer, and the suite must not hide a throttled API.
  const client = new ChatbotClient({ url: target.url, apiKey: target.apiKey, retries: 0, timeoutMs: 35_000 });
  const results: CheckResult[] = [];
  for (const check of checks) {
    const started = performance.now();
    const apiKey = check.key === 'valid' ? undefined : check.key === 'wrong' ? WRONG_KEY : null;
    let problem: string | undefined;
    let hint: string | undefined;
    let status = 0;
    try {
      const r = await client.send(check.body, { apiKey });
      status = r.status;
      problem = check.verify(r);
      if (problem !== undefined) hint = hintFor(check, r, target);
    } catch (err) {
      problem = `request failed: ${(err as Error).message}`;
    }
    results.push({
      name: check.name,
      passed: problem === undefined,
      ms: Math.round(performance.now() - started),
      detail: problem ?? `HTTP ${status}`,
      ...(hint ? { hint } : {}),
    });
  }
  return results;
}
