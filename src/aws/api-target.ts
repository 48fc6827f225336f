/**
 * The deployed API as `invoke`, `test` and `doctor` see it: the invoke URL read from API Gateway,
 * the current key's value (includeValue, so the user never copies it), the usage plan's limits;
 * and the function invoked directly through the Lambda API, without API Gateway.
 */
import type { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { InvokeCommand, type LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import type { Context } from '../cli/context.js';
import type { ApiTarget } from '../client/target.js';
import { UserError } from '../errors.js';
import {
  type ApiKeyDetail,
  findRestApisByName,
  findStage,
  findUsagePlansByName,
  invokeUrl,
  listApiKeysNamed,
  listUsagePlanKeys,
} from './apigateway.js';
import { resolveRegion } from './sts.js';

/**
 * Which key is "current": the newest enabled key with the configured name that is on the usage
 * plan. `rotate-key` creates the new key under the same name, so during a rotation the new one is
 * current and, after `--finish`, the only one.
 */
export function pickCurrentKey(
  keys: readonly ApiKeyDetail[],
  planKeyIds: ReadonlySet<string>,
): ApiKeyDetail | undefined {
  const usable = keys.filter((k) => k.enabled && planKeyIds.has(k.id));
  return usable[usable.length - 1];
}

/**
 * Invoke URL from API Gateway, the key's value (includeValues) and the usage plan's limits. With
 * `apiKey` (the user's --api-key) that key is used and no key value is read from API Gateway.
 */
export async function resolveDeployedTarget(
  ctx: Context,
  options: { apiKey?: string } = {},
): Promise<ApiTarget> {
  const config = ctx.config();
  const aws = ctx.aws();
  const region = await resolveRegion(aws);
  const [apis, plans, keys] = await Promise.all([
    findRestApisByName(aws.apigateway, config.api.name),
    findUsagePlansByName(aws.apigateway, config.usagePlan.name),
    options.apiKey === undefined ? listApiKeysNamed(aws.apigateway, config.usagePlan.keyName) : [],
  ]);
  const api = apis[0];
  if (!api) {
    throw new UserError(`no REST API named ${config.api.name} in ${region}`, {
      hint: 'Deploy it with `chatbot-ops deploy` (or `create-api`), or use --local, or --url URL --api-key KEY.',
    });
  }
  if (apis.length > 1) {
    throw new UserError(
      `${apis.length} REST APIs are named ${config.api.name} in ${region} (${apis.map((a) => a.id).join(', ')})`,
      {
        hint: 'API Gateway allows duplicate names; delete or rename the extra ones, or set api.name in the config to tell them apart.',
      },
    );
  }
  const stage = await findStage(aws.apigateway, api.id, config.api.stage);
  if (!stage) {
    throw new UserError(`the API ${config.api.name} has no stage ${config.api.stage}`, {
      hint: 'Deploy it with `chatbot-ops create-api` (guide step 5, "Deploy API").',
    });
  }
  const plan = plans[0];
  if (!plan) {
    throw new UserError(`no usage plan named ${config.usagePlan.name}: the API cannot accept any key`, {
      hint: 'Create it with `chatbot-ops create-usage-plan` (guide step 6).',
    });
  }
  const apiKey =
    options.apiKey ?? (await currentKeyValue(aws.apigateway, plan, keys, config.usagePlan.keyName));
  const endpointUrl = aws.endpointUrl;
  return {
    url: invokeUrl({
      apiId: api.id,
      region,
      stage: config.api.stage,
      resource: config.api.resource,
      ...(endpointUrl ? { endpointUrl } : {}),
    }),
    apiKey,
    source: 'aws',
    usagePlan: {
      rateLimit: plan.throttle.rateLimit ?? config.usagePlan.rateLimit,
      burstLimit: plan.throttle.burstLimit ?? config.usagePlan.burstLimit,
      quotaLimit: plan.quota.limit ?? config.usagePlan.quotaLimit,
      quotaPeriod: plan.quota.period ?? config.usagePlan.quotaPeriod,
      name: plan.name,
      onStage: plan.apiStages.some((s) => s.apiId === api.id && s.stage === config.api.stage),
    },
    functionName: config.function.name,
  };
}

/** The value of the current key on the plan (see pickCurrentKey), or why there is none. */
async function currentKeyValue(
  apigateway: APIGatewayClient,
  plan: { id: string; name: string },
  keys: readonly ApiKeyDetail[],
  keyName: string,
): Promise<string> {
  const planKeyIds = new Set((await listUsagePlanKeys(apigateway, plan.id)).map((k) => k.id));
  const key = pickCurrentKey(keys, planKeyIds);
  if (!key?.value) {
    throw new UserError(`no enabled API key named ${keyName} is on the usage plan ${plan.name}`, {
      hint: 'Create and attach it with `chatbot-ops create-usage-plan`, then check with `chatbot-ops doctor`.',
    });
  }
  return key.value;
}

export interface DirectInvocation {
  /** The handler's statusCode; 502 when the function itself failed (as API Gateway would answer). */
  statusCode: number;
  body: string;
  /** `Unhandled` errors and timeouts: "<errorType>: <errorMessage>". */
  functionError?: string;
  requestId?: string;
  /** The last 4 KB of the invocation's log (LogType Tail), when asked for. */
  logTail?: string;
}

/**
 * Invoke synchronously with `event` as the event and decode the answer. With `tailLog` Lambda
 * also returns the end of the invocation's log, which names a database error the response hides.
 */
export async function invokeAndDecode(
  lambda: LambdaClient,
  functionName: string,
  event: unknown,
  options: { tailLog?: boolean } = {},
): Promise<DirectInvocation> {
  const input = {
    FunctionName: functionName,
    InvocationType: 'RequestResponse' as const,
    Payload: new TextEncoder().encode(JSON.stringify(event)),
    ...(options.tailLog ? { LogType: 'Tail' as const } : {}),
  };
  const out = await lambda.send(new InvokeCommand(input)).catch((err: unknown) => {
    if (err instanceof ResourceNotFoundException) {
      throw new UserError(`no Lambda function named ${functionName}`, {
        hint: 'Deploy it with `chatbot-ops deploy` (or `create-function`), or check --region.',
        cause: err,
      });
    }
    throw err;
  });
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  const extra = {
    // For a synchronous invocation the Invoke request id is the function's awsRequestId.
    ...(out.$metadata.requestId ? { requestId: out.$metadata.requestId } : {}),
    ...(out.LogResult ? { logTail: Buffer.from(out.LogResult, 'base64').toString('utf8') } : {}),
  };
  if (out.FunctionError) {
    let detail = text;
    try {
      const e = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      detail = [e.errorType, e.errorMessage].filter(Boolean).join(': ') || text;
    } catch {
      // Not JSON: keep the raw text.
    }
    return { statusCode: 502, body: text, functionError: detail || out.FunctionError, ...extra };
  }
  try {
    const r = JSON.parse(text) as { statusCode?: unknown; body?: unknown; isBase64Encoded?: boolean };
    if (typeof r.statusCode === 'number') {
      const body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? '');
      return {
        statusCode: r.statusCode,
        body: r.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body,
        ...extra,
      };
    }
  } catch {
    // Not a proxy response: hand back what came.
  }
  return { statusCode: out.StatusCode ?? 200, body: text, ...extra };
}

/** Lambda Invoke (RequestResponse) of the function with the SPEC body itself as the event. */
export async function invokeDirect(
  ctx: Context,
  event: unknown,
): Promise<{ statusCode: number; body: string; functionError?: string; requestId?: string }> {
  const { logTail: _unused, ...result } = await invokeAndDecode(
    ctx.aws().lambda,
    ctx.config().function.name,
    event,
  );
  return result;
}
