/**
 * After a deploy: one direct `health` invocation through Lambda Invoke (function, VPC, database),
 * then one call through API Gateway with the key (method, integration, key, usage plan, stage).
 * Each part ends `passed`, `failed` (a real answer that is wrong: the function or the API answered,
 * and not with a healthy backend) or `unreachable` (no answer from the backend at all: a transport
 * error, an HTML error page, a URL nothing serves, an Invoke that did not run the code, as on an
 * AWS API emulator). Only `failed` fails the deploy; `unreachable` is reported with what to try.
 */

import type { AwsClients } from '../aws/clients.js';
import { errorLine } from '../aws/failures.js';
import { invokeFunction } from '../aws/lambda.js';
import type { Clock } from '../aws/timing.js';
import { callApi } from '../client/api-client.js';

export type SmokeOutcome = 'passed' | 'failed' | 'unreachable';

export interface SmokePart {
  outcome: SmokeOutcome;
  /** Kept for the JSON result's readers: outcome === 'passed'. */
  ok: boolean;
  detail: string;
}

export interface SmokeResult {
  /** The worst of the two parts: failed, else unreachable, else passed. */
  outcome: SmokeOutcome;
  direct: SmokePart;
  api: SmokePart & { status: number | undefined };
}

/** How long to retry 403s: a new key or usage plan association takes a few seconds to reach the edge. */
const KEY_PROPAGATION_MS = 60_000;

const HEALTH = { intent: 'health' };

const part = (outcome: SmokeOutcome, detail: string): SmokePart => ({
  outcome,
  ok: outcome === 'passed',
  detail,
});

/** The backend's answer envelope: every answer it gives, success or error, has `success` true or false. */
interface Envelope {
  success: boolean;
  data?: { status?: string };
  error?: string;
  error_code?: string;
}

function envelopeOf(body: string): Envelope | undefined {
  try {
    const parsed = JSON.parse(body) as Partial<Envelope> | null;
    return parsed !== null && typeof parsed === 'object' && typeof parsed.success === 'boolean'
      ? (parsed as Envelope)
      : undefined;
  } catch {
    return undefined;
  }
}

const snippet = (text: string) => (text.length > 120 ? `${text.slice(0, 117)}...` : text) || '(empty)';

/**
 * Why an HTTP answer cannot have come from the deployed API, or undefined when it can: an HTML
 * page (a proxy's or an emulator's error page; API Gateway and the backend answer JSON), or a 404
 * (API Gateway answers a path it does not serve 403 "Missing Authentication Token", never 404).
 */
export function notFromTheApi(
  status: number,
  headers: Record<string, string>,
  text: string,
): string | undefined {
  const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  if (/html/i.test(type) || /^\s*</.test(text))
    return `HTTP ${status} with an HTML page, not an answer of API Gateway or the backend`;
  if (status === 404) return 'HTTP 404: nothing serves this URL (API Gateway answers an unknown path 403)';
  return undefined;
}

/** The verdict on the backend's answer to `health`. */
function judgeHealth(status: number | undefined, envelope: Envelope): SmokePart {
  if (status === 200 && envelope.success) return part('passed', `health: ${envelope.data?.status ?? 'ok'}`);
  return part('failed', `HTTP ${status}: ${envelope.error_code ?? ''} ${envelope.error ?? ''}`.trim());
}

async function directPart(aws: AwsClients, functionName: string): Promise<SmokePart> {
  let out: Awaited<ReturnType<typeof invokeFunction>>;
  try {
    out = await invokeFunction(aws.lambda, functionName, HEALTH);
  } catch (err) {
    return part('unreachable', `Lambda Invoke failed: ${errorLine(err)}`);
  }
  if (out.functionError)
    return part('failed', `the function failed (${out.functionError}): ${snippet(out.body)}`);
  const envelope = envelopeOf(out.body);
  if (!envelope)
    return part(
      'unreachable',
      `the answer is not the backend's (${snippet(out.body)}): the code did not run (an emulator that does not run Lambda code answers so)`,
    );
  return judgeHealth(out.statusCode, envelope);
}

async function apiPart(url: string, apiKey: string, clock: Clock): Promise<SmokeResult['api']> {
  const started = clock.now();
  for (;;) {
    let res: Awaited<ReturnType<typeof callApi>>;
    try {
      res = await callApi(url, JSON.stringify(HEALTH), { apiKey, timeoutMs: 35_000 });
    } catch (err) {
      return { ...part('unreachable', `no answer from ${url}: ${errorLine(err)}`), status: undefined };
    }
    const foreign = notFromTheApi(res.status, res.headers, res.text);
    if (foreign) return { ...part('unreachable', foreign), status: res.status };
    if (res.status === 403 && clock.now() - started < KEY_PROPAGATION_MS) {
      await clock.sleep(5000);
      continue;
    }
    const envelope = envelopeOf(res.text);
    // API Gateway's own answers (403 Forbidden, 429, 502) are real answers too: the API is wrong.
    const verdict = envelope
      ? judgeHealth(res.status, envelope)
      : part('failed', `HTTP ${res.status}: ${snippet(res.text)}`);
    return { ...verdict, status: res.status };
  }
}

export async function runSmokeTest(
  aws: AwsClients,
  target: { functionName: string; url: string; apiKey: string },
  clock: Clock,
): Promise<SmokeResult> {
  const direct = await directPart(aws, target.functionName);
  const api = await apiPart(target.url, target.apiKey, clock);
  const outcomes = [direct.outcome, api.outcome];
  const outcome: SmokeOutcome = outcomes.includes('failed')
    ? 'failed'
    : outcomes.includes('unreachable')
      ? 'unreachable'
      : 'passed';
  return { outcome, direct, api };
}
