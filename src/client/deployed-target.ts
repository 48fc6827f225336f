/**
 * The deployed API as `invoke` and `test` see it: the invoke URL read from API Gateway, the current
 * key's value (the deployment model's definition: the newest enabled key on the plan), and the usage
 * plan's limits, so the user never copies a key and a 429 can be explained.
 */
import { invokeUrl } from '../aws/apigateway.js';
import { resolveRegion } from '../aws/sts.js';
import type { Context } from '../cli/context.js';
import { openDeployment } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import type { ApiTarget } from './target.js';

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
  const d = openDeployment(aws, config);
  const [region, api, plan] = await Promise.all([
    resolveRegion(aws),
    d.restApi(),
    d.usagePlan(),
    // Read beside the others, not after them: the key's value is needed unless the user gave one.
    options.apiKey === undefined ? d.apiKeys() : undefined,
  ]);
  if (!api) {
    throw new UserError(`no REST API named ${config.api.name} in ${region}`, {
      hint: 'Deploy it with `chatbot-ops deploy` (or `create-api`), or use --local, or --url URL --api-key KEY.',
    });
  }
  if (!(await d.stage())) {
    throw new UserError(`the API ${config.api.name} has no stage ${config.api.stage}`, {
      hint: 'Deploy it with `chatbot-ops create-api` (guide step 5, "Deploy API").',
    });
  }
  if (!plan) {
    throw new UserError(`no usage plan named ${config.usagePlan.name}: the API cannot accept any key`, {
      hint: 'Create it with `chatbot-ops create-usage-plan` (guide step 6).',
    });
  }
  const apiKey = options.apiKey ?? (await d.currentKey())?.value;
  if (apiKey === undefined) {
    throw new UserError(
      `no enabled API key named ${config.usagePlan.keyName} is on the usage plan ${plan.name}`,
      {
        hint: 'Create and attach it with `chatbot-ops create-usage-plan`, then check with `chatbot-ops doctor`.',
      },
    );
  }
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
