/**
 * API Gateway (REST, v1), narrowed to one API, its resource, POST method and Lambda proxy
 * integration, stage deployments, API keys and usage plans. Lists are read through the SDK's
 * paginators (every page), NotFoundException becomes undefined for finds and ConflictException
 * "already there" for associations. Nothing here prints.

 */
import {
  type APIGatewayClient,
  BadRequestException,
  ConflictException,
  CreateApiKeyCommand,
  CreateDeploymentCommand,
  CreateResourceCommand,
  CreateRestApiCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteRestApiCommand,
  DeleteStageCommand,
  DeleteUsagePlanCommand,
  DeleteUsagePlanKeyCommand,
  GetAccountCommand,
  GetApiKeyCommand,
  GetDeploymentCommand,
  GetStageCommand,
  GetStagesCommand,
  NotFoundException,
  type PatchOperation,
  PutIntegrationCommand,
  PutMethodCommand,
  paginateGetApiKeys,
  paginateGetResources,
  paginateGetRestApis,
  paginateGetUsagePlanKeys,
  paginateGetUsagePlans,
  TagResourceCommand,
  TooManyRequestsException,
  UpdateAccountCommand,
  UpdateMethodCommand,
  UpdateRestApiCommand,
  UpdateStageCommand,
  UpdateUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import { UserError } from '../errors.js';
import { pagesOf } from './pages.js';
import { type Clock, systemClock } from './timing.js';

/** The largest page API Gateway's list calls return. */
const PAGE = 500;

/**
 * How long to keep retrying a call API Gateway throttles. Its control plane has fixed per-account
 * limits no request can raise (CreateDeployment 1 per 5 s, UpdateUsagePlan 1 per 20 s, DeleteRestApi
 * 1 per 30 s): the SDK's own retries give up within seconds, well inside one such window.
 */
export const THROTTLE_BUDGET_MS = 120_000;

/**
 * Send, and again while API Gateway answers TooManyRequestsException, waiting what it asks for
 * (`retryAfterSeconds`, else growing pauses) within THROTTLE_BUDGET_MS.
 */
async function whileThrottled<T>(what: string, clock: Clock, send: () => Promise<T>): Promise<T> {
  const started = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof TooManyRequestsException)) throw err;
      const waited = clock.now() - started;
      if (waited >= THROTTLE_BUDGET_MS) {
        throw new UserError(
          `API Gateway still refuses ${what} after ${Math.round(waited / 1000)} s: too many requests (its per-account limit for this call)`,
          {
            hint: 'Another deploy or script may be calling API Gateway in this account; wait a minute and run the same command again.',
            cause: err,
          },
        );
      }
      const asked = Number(err.retryAfterSeconds);
      const pause =
        Number.isFinite(asked) && asked > 0 ? asked * 1000 : Math.min(5000 * 2 ** (attempt - 1), 30_000);
      await clock.sleep(pause);
    }
  }
}

export interface RestApiInfo {
  id: string;
  name: string;
  endpointTypes: string[];
  createdDate: Date | undefined;
}

export interface MethodInfo {
  apiKeyRequired: boolean;
  authorizationType: string;
  integration: { type: string; httpMethod: string; uri: string } | undefined;
}

export interface ResourceInfo {
  id: string;
  parentId: string | undefined;
  path: string;
  pathPart: string | undefined;
  /** Methods by HTTP verb, with their integration (read with embed=methods, one call for all). */
  methods: Record<string, MethodInfo>;
}

export interface UsagePlanInfo {
  id: string;
  name: string;
  throttle: { rateLimit: number | undefined; burstLimit: number | undefined };
  quota: { limit: number | undefined; period: string | undefined; offset: number | undefined };
  apiStages: { apiId: string; stage: string }[];
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  enabled: boolean;
  /** Only when read with includeValue(s); a secret: never print it. */
  value: string | undefined;
}

/** `https://<api>.execute-api.<region>.amazonaws.com/<stage>/<resource>`, or the emulator's form behind --endpoint-url. */
export function invokeUrl(p: {
  apiId: string;
  region: string;
  stage: string;
  resource: string;
  endpointUrl?: string;
}): string {
  if (p.endpointUrl) {
    // LocalStack (and moto's server) serve every REST API at this path on their one endpoint.
    return `${p.endpointUrl.replace(/\/+$/, '')}/restapis/${p.apiId}/${p.stage}/_user_request_/${p.resource}`;
  }
  const suffix = p.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${p.apiId}.execute-api.${p.region}.${suffix}/${p.stage}/${p.resource}`;
}

/** REST APIs with exactly this name (names are not unique in API Gateway). */
export async function findRestApisByName(apigw: APIGatewayClient, name: string): Promise<RestApiInfo[]> {
  const found: RestApiInfo[] = [];
  for await (const page of paginateGetRestApis(pagesOf(apigw, PAGE), {}))
    for (const a of page.items ?? [])
      if (a.name === name && a.id)
        found.push({
          id: a.id,
          name,
          endpointTypes: a.endpointConfiguration?.types ?? [],
          createdDate: a.createdDate,
        });
  return found;
}

export async function createRestApi(
  apigw: APIGatewayClient,
  api: { name: string; endpointType: string; tags: Record<string, string> },
): Promise<{ id: string; rootResourceId: string | undefined }> {
  const out = await apigw.send(
    new CreateRestApiCommand({
      name: api.name,
      description: 'chatbot traffic backend (managed by chatbot-ops)',
      endpointConfiguration: { types: [api.endpointType as never] },
      apiKeySource: 'HEADER',
      tags: api.tags,
    }),
  );
  return { id: out.id ?? '', rootResourceId: out.rootResourceId };
}

/**
 * Change the API's endpoint type (EDGE ⇄ REGIONAL): a patch that replaces the current type. The
 * stage serves the new type once it is deployed again.
 */
export async function setEndpointType(
  apigw: APIGatewayClient,
  apiId: string,
  from: string,
  to: string,
): Promise<void> {
  await apigw.send(
    new UpdateRestApiCommand({
      restApiId: apiId,
      patchOperations: [{ op: 'replace', path: `/endpointConfiguration/types/${from}`, value: to }],
    }),
  );
}

export async function deleteRestApi(
  apigw: APIGatewayClient,
  apiId: string,
  clock: Clock = systemClock,
): Promise<boolean> {
  try {
    await whileThrottled('DeleteRestApi', clock, () =>
      apigw.send(new DeleteRestApiCommand({ restApiId: apiId })),
    );
    return true;
  } catch (err) {
    if (err instanceof NotFoundException) return false;
    throw err;
  }
}

/** Every resource of the API, each with its methods and their integrations. */
export async function listResources(apigw: APIGatewayClient, apiId: string): Promise<ResourceInfo[]> {
  const resources: ResourceInfo[] = [];
  for await (const page of paginateGetResources(pagesOf(apigw, PAGE), {
    restApiId: apiId,
    embed: ['methods'],
  })) {
    for (const r of page.items ?? []) {
      const methods: Record<string, MethodInfo> = {};
      for (const [verb, m] of Object.entries(r.resourceMethods ?? {})) {
        const i = m.methodIntegration;
        methods[verb] = {
          apiKeyRequired: Boolean(m.apiKeyRequired),
          authorizationType: m.authorizationType ?? 'NONE',
          integration: i
            ? { type: i.type ?? '', httpMethod: i.httpMethod ?? '', uri: i.uri ?? '' }
            : undefined,
        };
      }
      resources.push({
        id: r.id ?? '',
        parentId: r.parentId,
        path: r.path ?? '',
        pathPart: r.pathPart,
        methods,
      });
    }
  }
  return resources;
}

export async function createResource(
  apigw: APIGatewayClient,
  apiId: string,
  parentId: string,
  pathPart: string,
): Promise<string> {
  const out = await apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId, pathPart }));
  return out.id ?? '';
}

/** Create the method with no authorizer and the API key requirement given. */
export async function putMethod(
  apigw: APIGatewayClient,
  m: { apiId: string; resourceId: string; httpMethod: string; apiKeyRequired: boolean },
): Promise<void> {
  await apigw.send(
    new PutMethodCommand({
      restApiId: m.apiId,
      resourceId: m.resourceId,
      httpMethod: m.httpMethod,
      authorizationType: 'NONE',
      apiKeyRequired: m.apiKeyRequired,
    }),
  );
}

export async function setMethodApiKeyRequired(
  apigw: APIGatewayClient,
  m: { apiId: string; resourceId: string; httpMethod: string; apiKeyRequired: boolean },
): Promise<void> {
  await apigw.send(
    new UpdateMethodCommand({
      restApiId: m.apiId,
      resourceId: m.resourceId,
      httpMethod: m.httpMethod,
      patchOperations: [{ op: 'replace', path: '/apiKeyRequired', value: String(m.apiKeyRequired) }],
    }),
  );
}

/** Lambda proxy integration (AWS_PROXY): API Gateway always calls Lambda with POST. */
export async function putLambdaProxyIntegration(
  apigw: APIGatewayClient,
  i: { apiId: string; resourceId: string; httpMethod: string; uri: string },
): Promise<void> {
  await apigw.send(
    new PutIntegrationCommand({
      restApiId: i.apiId,
      resourceId: i.resourceId,
      httpMethod: i.httpMethod,
      type: 'AWS_PROXY',
      integrationHttpMethod: 'POST',
      uri: i.uri,
    }),
  );
}

/** A stage: which deployment it serves, and the stage settings the deploy steps manage. */
export interface StageState {
  deploymentId: string;
  /** X-Ray active tracing of the stage. */
  tracingEnabled: boolean;
  /** Where access logs go, and in which format; undefined when access logging is off. */
  accessLog: { destinationArn: string; format: string } | undefined;
  /** The WAF web ACL associated with the stage, if any. */
  webAclArn: string | undefined;
}

/** The stage, or undefined when it does not exist. */
export async function findStage(
  apigw: APIGatewayClient,
  apiId: string,
  stage: string,
): Promise<StageState | undefined> {
  try {
    const out = await apigw.send(new GetStageCommand({ restApiId: apiId, stageName: stage }));
    const log = out.accessLogSettings;
    return {
      deploymentId: out.deploymentId ?? '',
      tracingEnabled: out.tracingEnabled === true,
      accessLog: log?.destinationArn
        ? { destinationArn: log.destinationArn, format: log.format ?? '' }
        : undefined,
      webAclArn: out.webAclArn || undefined,
    };
  } catch (err) {
    if (err instanceof NotFoundException) return undefined;
    throw err;
  }
}

export interface StageInfo {
  name: string;
  deploymentId: string;
  tags: Record<string, string>;
}

/** Every stage of the API with its tags (GetStages answers in one call: stages are not paged). */
export async function listStages(apigw: APIGatewayClient, apiId: string): Promise<StageInfo[]> {
  try {
    const out = await apigw.send(new GetStagesCommand({ restApiId: apiId }));
    return (out.item ?? []).map((st) => ({
      name: st.stageName ?? '',
      deploymentId: st.deploymentId ?? '',
      tags: { ...(st.tags ?? {}) },
    }));
  } catch (err) {
    if (err instanceof NotFoundException) return [];
    throw err;
  }
}

/** Change stage settings (tracing, access logging) with patch operations; none sends nothing. */
export async function updateStage(
  apigw: APIGatewayClient,
  apiId: string,
  stage: string,
  patchOperations: PatchOperation[],
): Promise<void> {
  if (patchOperations.length > 0)
    await apigw.send(new UpdateStageCommand({ restApiId: apiId, stageName: stage, patchOperations }));
}

/** The stage's ARN, as TagResource, WAF and IAM name it. */
export function stageArn(p: { partition: string; region: string; apiId: string; stage: string }): string {
  return `arn:${p.partition}:apigateway:${p.region}::/restapis/${p.apiId}/stages/${p.stage}`;
}

/** Add or change tags on an API Gateway resource (a stage: CreateDeployment makes it without tags). */
export async function tagApiResource(
  apigw: APIGatewayClient,
  resourceArn: string,
  tags: Record<string, string>,
): Promise<void> {
  await apigw.send(new TagResourceCommand({ resourceArn, tags }));
}

/** Delete a stage; one already gone is fine. */
export async function deleteStage(
  apigw: APIGatewayClient,
  apiId: string,
  stage: string,
  clock: Clock = systemClock,
): Promise<void> {
  try {
    await whileThrottled('DeleteStage', clock, () =>
      apigw.send(new DeleteStageCommand({ restApiId: apiId, stageName: stage })),
    );
  } catch (err) {
    if (!(err instanceof NotFoundException)) throw err;
  }
}

/**
 * The role API Gateway uses to write any stage's logs to CloudWatch in this account and region
 * (one setting for every API), or undefined when none is set.
 */
export async function getAccountCloudWatchRole(apigw: APIGatewayClient): Promise<string | undefined> {
  const out = await apigw.send(new GetAccountCommand({}));
  return out.cloudwatchRoleArn || undefined;
}

/** How long to retry the account setting while a role made seconds ago is not yet usable. */
export const ACCOUNT_ROLE_BUDGET_MS = 60_000;

/**
 * Set the account's CloudWatch role. A role created seconds ago is not yet visible to API Gateway
 * (IAM is eventually consistent), which refuses it with a BadRequestException ("The role ARN does
 * not have required permissions") and no more specific code: with `justCreated`, that refusal is
 * retried within a minute; otherwise it is the answer.
 */
export async function setAccountCloudWatchRole(
  apigw: APIGatewayClient,
  roleArn: string,
  options: { justCreated: boolean; clock: Clock },
): Promise<void> {
  const started = options.clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await apigw.send(
        new UpdateAccountCommand({
          patchOperations: [{ op: 'replace', path: '/cloudwatchRoleArn', value: roleArn }],
        }),
      );
      return;
    } catch (err) {
      const waited = options.clock.now() - started;
      if (!(err instanceof BadRequestException) || !options.justCreated || waited >= ACCOUNT_ROLE_BUDGET_MS)
        throw err;
      await options.clock.sleep(Math.min(2000 * attempt, 10_000));
    }
  }
}

/** What a deployment serves, per path and method (its `apisummary`). */
export type DeployedMethods = Record<
  string,
  Record<string, { apiKeyRequired: boolean; authorizationType: string }>
>;

export interface DeploymentInfo {
  createdDate: Date | undefined;
  /** What it was made with: chatbot-ops writes the definition's fingerprint here (src/deploy/api.ts). */
  description: string;
  /** Undefined when the answer had no API summary (AWS API emulators leave it out). */
  methods: DeployedMethods | undefined;
}

/**
 * What a deployment froze, read with `embed=apisummary`: a stage keeps serving what was deployed,
 * whatever the API looks like now, so this is how "the live stage requires a key" is checked.
 * Undefined when the deployment no longer exists.
 */
export async function getDeployment(
  apigw: APIGatewayClient,
  apiId: string,
  deploymentId: string,
): Promise<DeploymentInfo | undefined> {
  try {
    const out = await apigw.send(
      new GetDeploymentCommand({ restApiId: apiId, deploymentId, embed: ['apisummary'] }),
    );
    let methods: DeployedMethods | undefined;
    if (out.apiSummary) {
      methods = {};
      for (const [path, verbs] of Object.entries(out.apiSummary)) {
        methods[path] = {};
        for (const [verb, m] of Object.entries(verbs ?? {}))
          methods[path][verb] = {
            apiKeyRequired: m.apiKeyRequired === true,
            authorizationType: m.authorizationType ?? 'NONE',
          };
      }
    }
    return { createdDate: out.createdDate, description: out.description ?? '', methods };
  } catch (err) {
    if (err instanceof NotFoundException) return undefined;
    throw err;
  }
}

/** Deploy the API's current state to the stage (creating the stage when needed). */
export async function createDeployment(
  apigw: APIGatewayClient,
  apiId: string,
  stage: string,
  description: string,
  clock: Clock = systemClock,
): Promise<string> {
  const out = await whileThrottled('CreateDeployment', clock, () =>
    apigw.send(new CreateDeploymentCommand({ restApiId: apiId, stageName: stage, description })),
  );
  return out.id ?? '';
}

/** Usage plans with exactly this name. */
export async function findUsagePlansByName(apigw: APIGatewayClient, name: string): Promise<UsagePlanInfo[]> {
  const found: UsagePlanInfo[] = [];
  for await (const page of paginateGetUsagePlans(pagesOf(apigw, PAGE), {}))
    for (const p of page.items ?? [])
      if (p.name === name && p.id) found.push(usagePlanInfo({ ...p, id: p.id }));
  return found;
}

/** Usage plans that list this API stage, whatever their names. */
export async function findUsagePlansOnStage(
  apigw: APIGatewayClient,
  apiId: string,
  stage: string,
): Promise<UsagePlanInfo[]> {
  const found: UsagePlanInfo[] = [];
  for await (const page of paginateGetUsagePlans(pagesOf(apigw, PAGE), {}))
    for (const p of page.items ?? [])
      if (p.id && (p.apiStages ?? []).some((s) => s.apiId === apiId && s.stage === stage))
        found.push(usagePlanInfo(p as typeof p & { id: string }));
  return found;
}

function usagePlanInfo(p: {
  id: string;
  name?: string | undefined;
  throttle?: { rateLimit?: number | undefined; burstLimit?: number | undefined } | undefined;
  quota?:
    | { limit?: number | undefined; period?: string | undefined; offset?: number | undefined }
    | undefined;
  apiStages?: { apiId?: string | undefined; stage?: string | undefined }[] | undefined;
}): UsagePlanInfo {
  return {
    id: p.id,
    name: p.name ?? '',
    throttle: { rateLimit: p.throttle?.rateLimit, burstLimit: p.throttle?.burstLimit },
    quota: { limit: p.quota?.limit, period: p.quota?.period, offset: p.quota?.offset },
    apiStages: (p.apiStages ?? []).map((s) => ({ apiId: s.apiId ?? '', stage: s.stage ?? '' })),
  };
}

export async function createUsagePlan(
  apigw: APIGatewayClient,
  plan: {
    name: string;
    rateLimit: number;
    burstLimit: number;
    quotaLimit: number;
    quotaPeriod: string;
    apiStages: { apiId: string; stage: string }[];
    tags: Record<string, string>;
  },
): Promise<string> {
  const out = await apigw.send(
    new CreateUsagePlanCommand({
      name: plan.name,
      description: 'chatbot API throttle and quota (managed by chatbot-ops)',
      throttle: { rateLimit: plan.rateLimit, burstLimit: plan.burstLimit },
      quota: { limit: plan.quotaLimit, period: plan.quotaPeriod as never },
      apiStages: plan.apiStages.map((s) => ({ apiId: s.apiId, stage: s.stage })),
      tags: plan.tags,
    }),
  );
  return out.id ?? '';
}

export async function updateUsagePlan(
  apigw: APIGatewayClient,
  planId: string,
  patchOperations: PatchOperation[],
  clock: Clock = systemClock,
): Promise<void> {
  if (patchOperations.length > 0)
    await whileThrottled('UpdateUsagePlan', clock, () =>
      apigw.send(new UpdateUsagePlanCommand({ usagePlanId: planId, patchOperations })),
    );
}

export async function deleteUsagePlan(
  apigw: APIGatewayClient,
  planId: string,
  clock: Clock = systemClock,
): Promise<boolean> {
  try {
    await whileThrottled('DeleteUsagePlan', clock, () =>
      apigw.send(new DeleteUsagePlanCommand({ usagePlanId: planId })),
    );
    return true;
  } catch (err) {
    if (err instanceof NotFoundException) return false;
    throw err;
  }
}

/** The keys associated with a usage plan (ids and names; values are not trusted from this call). */
export async function listUsagePlanKeys(
  apigw: APIGatewayClient,
  planId: string,
): Promise<{ id: string; name: string }[]> {
  const keys: { id: string; name: string }[] = [];
  for await (const page of paginateGetUsagePlanKeys(pagesOf(apigw, PAGE), { usagePlanId: planId }))
    for (const k of page.items ?? []) if (k.id) keys.push({ id: k.id, name: k.name ?? '' });
  return keys;
}

/** Associate a key with a plan; an existing association is fine. */
export async function addUsagePlanKey(apigw: APIGatewayClient, planId: string, keyId: string): Promise<void> {
  try {
    await apigw.send(new CreateUsagePlanKeyCommand({ usagePlanId: planId, keyId, keyType: 'API_KEY' }));
  } catch (err) {
    if (!(err instanceof ConflictException)) throw err;
  }
}

export async function removeUsagePlanKey(
  apigw: APIGatewayClient,
  planId: string,
  keyId: string,
): Promise<void> {
  try {
    await apigw.send(new DeleteUsagePlanKeyCommand({ usagePlanId: planId, keyId }));
  } catch (err) {
    if (!(err instanceof NotFoundException)) throw err;
  }
}

export interface ApiKeyDetail {
  id: string;
  name: string;
  enabled: boolean;
  createdDate: Date | undefined;
  tags: Record<string, string>;
  /** A secret: compare or hash it, never print it. */
  value: string | undefined;
}

/** API keys with exactly this name, oldest first, with values, creation dates and tags. */
export async function listApiKeysNamed(apigw: APIGatewayClient, name: string): Promise<ApiKeyDetail[]> {
  const keys: ApiKeyDetail[] = [];
  for await (const page of paginateGetApiKeys(pagesOf(apigw, PAGE), { nameQuery: name, includeValues: true }))
    for (const k of page.items ?? [])
      if (k.name === name && k.id)
        keys.push({
          id: k.id,
          name,
          enabled: Boolean(k.enabled),
          createdDate: k.createdDate,
          tags: { ...(k.tags ?? {}) },
          value: k.value,
        });
  return keys.sort(
    (a, b) => (a.createdDate?.getTime() ?? 0) - (b.createdDate?.getTime() ?? 0) || a.id.localeCompare(b.id),
  );
}

/** One API key with its value, or undefined when it does not exist. */
export async function getApiKey(apigw: APIGatewayClient, keyId: string): Promise<ApiKeyInfo | undefined> {
  try {
    const k = await apigw.send(new GetApiKeyCommand({ apiKey: keyId, includeValue: true }));
    return { id: keyId, name: k.name ?? '', enabled: Boolean(k.enabled), value: k.value };
  } catch (err) {
    if (err instanceof NotFoundException) return undefined;
    throw err;
  }
}

export async function createApiKey(
  apigw: APIGatewayClient,
  key: { name: string; value: string; tags: Record<string, string> },
): Promise<string> {
  const out = await apigw.send(
    new CreateApiKeyCommand({
      name: key.name,
      value: key.value,
      enabled: true,
      description: 'chatbot API key (managed by chatbot-ops)',
      tags: key.tags,
    }),
  );
  return out.id ?? '';
}

export async function deleteApiKey(apigw: APIGatewayClient, keyId: string): Promise<boolean> {
  try {
    await apigw.send(new DeleteApiKeyCommand({ apiKey: keyId }));
    return true;
  } catch (err) {
    if (err instanceof NotFoundException) return false;
    throw err;
  }
}
