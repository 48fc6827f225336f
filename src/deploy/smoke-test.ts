/**
 * After a deploy: one direct `health` invocation through Lambda Invoke (function, VPC, database),
 * then one call through API Gateway with the key (method, integration, key, usage plan, stage).
 */

import type { AwsClients } from '../aws/clients.js';
import { invokeFunction } from '../aws/lambda.js';
import type { Clock } from '../aws/timing.js';
import { callApi } from '../client/api-client.js';
import { notBackendAnswer } from '../client/body-text.js';

export interface SmokeResult {
  direct: { ok: boolean; detail: string };
  api: { ok: boolean; status: number | undefined; detail: string };
}

/** How long to retry 403s: a new key or usage plan association takes a few seconds to reach the edge. */
const KEY_PROPAGATION_MS = 60_000;

const HEALTH = { intent: 'health' };

/** The verdict on a `health` answer: the backend's success envelope, or what came instead. */
function describeHealth(statusCode: number | undefined, body: string): { ok: boolean; detail: string } {
  const status = statusCode === undefined ? 'no HTTP status' : `HTTP ${statusCode}`;
  const notBackend = notBackendAnswer(body, HEALTH);
  if (notBackend) return { ok: false, detail: `${status}: ${notBackend}` };
  const parsed = JSON.parse(body) as {
    success: boolean;
    data?: { status?: string };
    error?: string;
    error_code?: string;
  };
  if (statusCode === 200 && parsed.success)
    return { ok: true, detail: `${status}, health ${parsed.data?.status ?? 'ok'}` };
  return { ok: false, detail: `${status}: ${parsed.error_code ?? ''} ${parsed.error ?? ''}`.trim() };
}

export async function runSmokeTest(
  aws: AwsClients,
  target: { functionName: string; url: string; apiKey: string },
  clock: Clock,
): Promise<SmokeResult> {
  let direct: SmokeResult['direct'];
  try {
    const out = await invokeFunction(aws.lambda, target.functionName, HEALTH);
    direct = out.functionError
      ? { ok: false, detail: `the function failed: ${out.functionError}` }
      : describeHealth(out.statusCode, out.body);
  } catch (err) {
    direct = { ok: false, detail: `Lambda Invoke failed: ${(err as Error).message}` };
  }

  const started = clock.now();
  let api: SmokeResult['api'] = { ok: false, status: undefined, detail: 'not called' };
  for (;;) {
    try {
      const res = await callApi(target.url, JSON.stringify(HEALTH), {
        apiKey: target.apiKey,
        timeoutMs: 35_000,
      });
      api = { ...describeHealth(res.status, res.text), status: res.status };
      if (res.status !== 403 || clock.now() - started >= KEY_PROPAGATION_MS) break;
    } catch (err) {
      api = { ok: false, status: undefined, detail: `request failed: ${(err as Error).message}` };
      break;
    }
    await clock.sleep(5000);
  }
  return { direct, api };
}
