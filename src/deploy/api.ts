/**
 * Guide step 5: the REST API. Found or created by name (REGIONAL, or EDGE: a change between the two
 * is planned and made in place, then deployed), the /chatbot resource, POST with
 * an API key required, the Lambda proxy integration, the permission for API Gateway to invoke the
 * function from this API and route only, and a deployment to the stage when anything changed.
 * Each deployment's description carries a fingerprint of the definition it was made from, so a
 * later run knows what the stage serves even where GetDeployment gives no API summary.
 */
import { createHash } from 'node:crypto';
import {
  createDeployment,
  createResource,
  createRestApi,
  type DeployedMethods,
  deleteRestApi,
  deleteStage,
  findUsagePlansOnStage,
  listResources,
  putLambdaProxyIntegration,
  putMethod,
  type ResourceInfo,
  type RestApiInfo,
  type StageInfo,
  setEndpointType,
  setMethodApiKeyRequired,
  stageArn,
  tagApiResource,
  updateUsagePlan,
} from '../aws/apigateway.js';
import { addInvokePermission, type PolicyStatement, removePermission } from '../aws/lambda.js';
import type { AwsSession } from '../aws/sts.js';
import type { ChatbotConfig } from '../config.js';
import { type Deployment, ownedBy, ownerTags } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import { createOrUpdate, type FieldChange, hasChanges, item, type PlanItem, pending } from './plan.js';
import { defineStep, type StepEnv } from './step.js';

export const PERMISSION_STATEMENT_ID = 'chatbot-ops-apigateway-invoke';
const HTTP_METHOD = 'POST';

export interface ApiDesired {
  name: string;
  endpointType: string;
  resource: string;
  stage: string;
  functionName: string;
  functionArn: string;
  /** Undefined until the API exists (its id is part of the ARN). */
  integrationUri: string;
  sourceArn: (apiId: string) => string;
  /** The ARN TagResource takes for a stage of the API. */
  stageArn: (apiId: string, stage: string) => string;
  tags: Record<string, string>;
  /** What the stage is tagged with: the config's tags and the owner tags. */
  stageTags: Record<string, string>;
  /** Whether a resource with these tags is this deployment's (see ownedBy). */
  owns: (tags: Readonly<Record<string, string>>) => boolean;
}

export interface ApiCurrent {
  api: RestApiInfo | undefined;
  resources: ResourceInfo[];
  /**
   * The stage and what its deployment serves: the API summary (undefined where the endpoint gives
   * none) and the description, which holds the fingerprint (see getDeployment).
   */
  stage: { deploymentId: string; deployed: DeployedMethods | undefined; description: string } | undefined;
  /** Every stage of the API with its tags: the configured one, and any a rename left. */
  stages: StageInfo[];
  permissions: PolicyStatement[];
}

/** What a deployment freezes of the one route: everything that changes what a caller meets. */
export interface ApiDefinition {
  path: string;
  httpMethod: string;
  apiKeyRequired: boolean;
  authorizationType: string;
  integration: { type: string; httpMethod: string; uri: string } | undefined;
}

/** A short, stable digest of a definition: 16 hex digits of the SHA-256 of its canonical JSON. */
export function definitionFingerprint(d: ApiDefinition): string {
  const canonical = JSON.stringify([
    d.path,
    d.httpMethod,
    d.apiKeyRequired,
    d.authorizationType,
    d.integration ? [d.integration.type, d.integration.httpMethod, d.integration.uri] : null,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** The description chatbot-ops gives a deployment: the fingerprint of what it froze. */
export function deploymentDescription(fingerprint: string): string {
  return `chatbot-ops deploy (definition ${fingerprint})`;
}

/** The fingerprint in a deployment's description; undefined for one chatbot-ops did not make (or made before it kept one). */
export function fingerprintIn(description: string): string | undefined {
  return /\(definition ([0-9a-f]{16})\)/.exec(description)?.[1];
}

/** The route the config wants, as a deployment would freeze it. */
export function desiredDefinition(desired: ApiDesired): ApiDefinition {
  return {
    path: `/${desired.resource}`,
    httpMethod: HTTP_METHOD,
    apiKeyRequired: true,
    authorizationType: 'NONE',
    integration: { type: 'AWS_PROXY', httpMethod: 'POST', uri: desired.integrationUri },
  };
}

/** The route as the API has it now (undefined without the resource or its POST). */
export function currentDefinition(resources: ResourceInfo[], resource: string): ApiDefinition | undefined {
  const path = `/${resource}`;
  const method = resources.find((r) => r.path === path)?.methods[HTTP_METHOD];
  if (!method) return undefined;
  return {
    path,
    httpMethod: HTTP_METHOD,
    apiKeyRequired: method.apiKeyRequired,
    authorizationType: method.authorizationType,
    integration: method.integration,
  };
}

export function desiredApi(
  config: ChatbotConfig,
  session: AwsSession,
  refs: { functionArn: string },
): ApiDesired {
  const { partition, region, account } = session;
  const resource = config.api.resource;
  return {
    name: config.api.name,
    endpointType: config.api.endpointType,
    resource,
    stage: config.api.stage,
    functionName: config.function.name,
    functionArn: refs.functionArn,
    integrationUri: `arn:${partition}:apigateway:${region}:lambda:path/2015-03-31/functions/${refs.functionArn}/invocations`,
    sourceArn: (apiId) =>
      `arn:${partition}:execute-api:${region}:${account}:${apiId}/*/${HTTP_METHOD}/${resource}`,
    stageArn: (apiId, stage) => stageArn({ partition, region, apiId, stage }),
    tags: ownerTags(config),
    stageTags: ownerTags(config),
    owns: (tags) => ownedBy(tags, config),
  };
}

export async function readApi(d: Deployment): Promise<ApiCurrent> {
  const [api, permissions] = await Promise.all([d.restApi(), d.functionPermissions()]);
  if (!api) return { api, resources: [], stage: undefined, stages: [], permissions };
  const [resources, stage, deployment, stages] = await Promise.all([
    d.resources(),
    d.stage(),
    d.stageDeployment(),
    d.stages(),
  ]);
  return {
    api,
    resources,
    stage: stage && {
      deploymentId: stage.deploymentId,
      // A deployment that is gone serves nothing: the summary of nothing, and no description.
      deployed: deployment ? deployment.methods : {},
      description: deployment?.description ?? '',
    },
    stages,
    permissions,
  };
}

const findPermission = (current: ApiCurrent) =>
  current.permissions.find((s) => s.Sid === PERMISSION_STATEMENT_ID);

/**
 * The endpoint type the API has against the config's. EDGE and REGIONAL convert into each other in
 * place; a PRIVATE API needs a resource policy and a VPC endpoint that chatbot-ops does not manage,
 * so it is refused rather than half-converted.
 */
export function endpointTypeChanges(api: RestApiInfo, desired: ApiDesired): FieldChange[] {
  const types = api.endpointTypes;
  if (types.includes('PRIVATE')) {
    throw new UserError(
      `the REST API ${desired.name} (${api.id}) is PRIVATE: chatbot-ops manages REGIONAL and EDGE APIs only`,
      {
        hint: `Set api.name to a new name for chatbot-ops to create its own API, or convert ${api.id} to ${desired.endpointType} yourself (remove its resource policy first).`,
      },
    );
  }
  return types.length === 1 && types[0] === desired.endpointType
    ? []
    : [{ field: 'endpoint type', from: types.join(', ') || null, to: desired.endpointType }];
}

/** Items for everything but the stage; the stage is deployed when any of these changes. */
function planApiParts(current: ApiCurrent, desired: ApiDesired): PlanItem[] {
  const path = `/${desired.resource}`;
  const resource = current.resources.find((r) => r.path === path);
  const method = resource?.methods[HTTP_METHOD];
  const apiId = current.api?.id ?? pending(desired.name);
  const items: PlanItem[] = [
    current.api
      ? createOrUpdate(
          'api',
          'REST API',
          `${desired.name} (${current.api.id})`,
          true,
          endpointTypeChanges(current.api, desired),
        )
      : item('api', 'REST API', desired.name, 'create', [
          { field: 'endpoint type', from: null, to: desired.endpointType },
        ]),
    createOrUpdate('api', 'resource', path, resource !== undefined, []),
    createOrUpdate(
      'api',
      'method',
      `${HTTP_METHOD} ${path}`,
      method !== undefined,
      method && !method.apiKeyRequired ? [{ field: 'apiKeyRequired', from: false, to: true }] : [],
    ),
  ];
  const integration = method?.integration;
  const integrationChanges: FieldChange[] = integration
    ? [
        ...(integration.type !== 'AWS_PROXY'
          ? [{ field: 'type', from: integration.type, to: 'AWS_PROXY' }]
          : []),
        ...(integration.httpMethod !== 'POST'
          ? [{ field: 'integrationHttpMethod', from: integration.httpMethod, to: 'POST' }]
          : []),
        ...(integration.uri !== desired.integrationUri
          ? [{ field: 'uri', from: integration.uri, to: desired.integrationUri }]
          : []),
      ]
    : [];
  items.push(
    createOrUpdate(
      'api',
      'integration',
      `${HTTP_METHOD} ${path} → ${desired.functionName}`,
      integration !== undefined,
      integrationChanges,
    ),
  );
  const permission = findPermission(current);
  const sourceArn = desired.sourceArn(apiId);
  const currentSource = permission?.Condition?.ArnLike?.['AWS:SourceArn'];
  items.push(
    createOrUpdate(
      'api',
      'invoke permission',
      `${desired.functionName} ← ${desired.name}`,
      permission !== undefined,
      permission && currentSource !== sourceArn
        ? [{ field: 'source ARN', from: currentSource ?? null, to: sourceArn }]
        : [],
    ),
  );
  return items;
}

/**
 * The stage is deployed when a part of the API changes; when the definition the stage's deployment
 * was made from (its fingerprint) differs from the one the config wants; or when the deployment's
 * API summary is there and shows the POST without the key requirement (or not at all). What is
 * unknown is not drift: a deployment without a fingerprint and an answer without a summary (AWS API
 * emulators give none) do not by themselves cause a deployment. `redeploy` forces one.
 */
export function planApi(current: ApiCurrent, desired: ApiDesired, redeploy = false): PlanItem[] {
  const parts = planApiParts(current, desired);
  // The permission lives on the function, not in the API: changing it needs no new deployment.
  const apiChanged = redeploy || hasChanges(parts.filter((p) => p.kind !== 'invoke permission'));
  // Stages this deployment made under a name the config no longer gives (api.stage changed).
  const leftovers = current.stages
    .filter((s) => s.name !== desired.stage && desired.owns(s.tags))
    .map((s) =>
      item('api', 'stage', s.name, 'delete', [
        {
          field: 'serves',
          from: `deployment ${s.deploymentId} (api.stage is now ${desired.stage})`,
          to: null,
        },
      ]),
    );
  const stage = current.stage;
  if (!stage) return [...parts, item('api', 'stage', desired.stage, 'create'), ...leftovers];
  const wanted = definitionFingerprint(desiredDefinition(desired));
  const deployedFingerprint = fingerprintIn(stage.description);
  const drift: FieldChange[] = [
    ...(deployedFingerprint !== undefined && deployedFingerprint !== wanted
      ? [{ field: 'definition', from: deployedFingerprint, to: wanted }]
      : []),
    ...(stage.deployed ? stageServes(stage.deployed, desired) : []),
  ];
  const deploy = apiChanged || drift.length > 0;
  const tagsNow = current.stages.find((s) => s.name === desired.stage)?.tags ?? {};
  const untagged = Object.entries(desired.stageTags).some(([k, v]) => tagsNow[k] !== v);
  return [
    ...parts,
    item('api', 'stage', desired.stage, deploy || untagged ? 'update' : 'unchanged', [
      ...(deploy ? [...drift, { field: 'deployment', from: stage.deploymentId, to: 'new' }] : []),
      ...(untagged ? [{ field: 'tags', from: tagsNow, to: { ...tagsNow, ...desired.stageTags } }] : []),
    ]),
    ...leftovers,
  ];
}

/**
 * How the deployed POST differs from what the config wants, by the deployment's API summary: a
 * stage deployed while the key was not required (the live API open to anyone) shows here even when
 * the deployment was made by hand, without a fingerprint.
 */
function stageServes(deployed: DeployedMethods, desired: ApiDesired): FieldChange[] {
  const live = deployed[`/${desired.resource}`]?.[HTTP_METHOD];
  const field = `serves ${HTTP_METHOD} /${desired.resource}`;
  if (!live) return [{ field, from: null, to: 'apiKeyRequired' }];
  return live.apiKeyRequired ? [] : [{ field: `${field} apiKeyRequired`, from: false, to: true }];
}

/** Make the API match; returns its id. */
export async function applyApi(
  env: StepEnv,
  current: ApiCurrent,
  desired: ApiDesired,
  plan: PlanItem[],
): Promise<string> {
  const { apigateway, lambda } = env.aws;
  const action = (kind: string) => plan.find((p) => p.kind === kind)?.action ?? 'unchanged';
  let apiId = current.api?.id;
  let resources = current.resources;
  if (!apiId) {
    const created = await createRestApi(apigateway, {
      name: desired.name,
      endpointType: desired.endpointType,
      tags: desired.tags,
    });
    apiId = created.id;
    resources = created.rootResourceId
      ? [{ id: created.rootResourceId, parentId: undefined, path: '/', pathPart: undefined, methods: {} }]
      : await listResources(apigateway, apiId);
  }
  const path = `/${desired.resource}`;
  let resourceId = resources.find((r) => r.path === path)?.id;
  if (!resourceId) {
    const root = resources.find((r) => r.path === '/');
    if (!root)
      throw new UserError(`the REST API ${apiId} has no root resource`, {
        hint: 'Delete the API and run deploy again.',
      });
    resourceId = await createResource(apigateway, apiId, root.id, desired.resource);
  }
  const typeChange = plan
    .find((p) => p.kind === 'REST API')
    ?.changes.find((c) => c.field === 'endpoint type');
  if (current.api && typeChange) {
    await setEndpointType(apigateway, apiId, current.api.endpointTypes[0] ?? '', desired.endpointType);
  }
  const target = { apiId, resourceId, httpMethod: HTTP_METHOD };
  if (action('method') === 'create') await putMethod(apigateway, { ...target, apiKeyRequired: true });
  else if (action('method') === 'update')
    await setMethodApiKeyRequired(apigateway, { ...target, apiKeyRequired: true });
  if (action('integration') !== 'unchanged')
    await putLambdaProxyIntegration(apigateway, { ...target, uri: desired.integrationUri });
  const permission = action('invoke permission');
  if (permission !== 'unchanged') {
    if (permission === 'update')
      await removePermission(lambda, desired.functionName, PERMISSION_STATEMENT_ID);
    await addInvokePermission(lambda, {
      functionName: desired.functionName,
      statementId: PERMISSION_STATEMENT_ID,
      principal: 'apigateway.amazonaws.com',
      sourceArn: desired.sourceArn(apiId),
    });
  }
  const stageItem = plan.find((p) => p.kind === 'stage' && p.resource === desired.stage);
  const stageChanged = (field: string) =>
    stageItem?.action === 'create' || Boolean(stageItem?.changes.some((c) => c.field === field));
  if (stageChanged('deployment')) {
    // The API now matches the config, so the deployment freezes the desired definition.
    const fingerprint = definitionFingerprint(desiredDefinition(desired));
    await createDeployment(
      apigateway,
      apiId,
      desired.stage,
      deploymentDescription(fingerprint),
      env.timing.clock,
    );
  }
  // CreateDeployment makes a new stage without tags; they are what finds it again after a rename.
  if (stageChanged('tags')) {
    await tagApiResource(apigateway, desired.stageArn(apiId, desired.stage), desired.stageTags);
  }
  for (const old of plan.filter((p) => p.kind === 'stage' && p.action === 'delete')) {
    // A usage plan still listing the stage would keep serving keys for it: it goes off the plans first.
    for (const usagePlan of await findUsagePlansOnStage(apigateway, apiId, old.resource)) {
      await updateUsagePlan(
        apigateway,
        usagePlan.id,
        [{ op: 'remove', path: '/apiStages', value: `${apiId}:${old.resource}` }],
        env.timing.clock,
      );
    }
    await deleteStage(apigateway, apiId, old.resource, env.timing.clock);
  }
  return apiId;
}

export const apiStep = defineStep({
  name: 'api',
  command: 'create-api',
  title: 'API Gateway REST API',
  guideStep: '5',
  options: [{ flags: '--redeploy', description: 'deploy the API stage even when no API setting changed' }],
  needs: ['function'],
  provides: {
    ref: 'apiId',
    kind: 'REST API',
    idIn: (current: ApiCurrent) => current.api?.id,
    predict: (config) => ({ pending: config.api.name }),
  },
  desired: (ctx) => desiredApi(ctx.inputs.config, ctx.session, { functionArn: ctx.refs.get('functionArn') }),
  read: (d) => readApi(d),
  plan: (current, desired, ctx) => planApi(current, desired, ctx.inputs.flags?.redeploy === true),
  apply: (env, current, desired, items) => applyApi(env, current, desired, items),
  // The next plan compares the deployment's fingerprint with the config, so an integration changed
  // and left undeployed is deployed by the re-run; only a stage deployed by hand (no fingerprint)
  // can hide it.
  failureHint: (items) =>
    items.some((i) => i.kind === 'integration' && i.action === 'update')
      ? 'If the stage was last deployed by hand, re-run with --redeploy.'
      : undefined,
  destroy: {
    read: (d) => d.restApi(),
    plan: (api, config) => (api ? [item('api', 'REST API', `${config.api.name} (${api.id})`, 'delete')] : []),
    async apply(env, api) {
      if (!api) return;
      env.removing(`REST API ${api.id}`);
      await deleteRestApi(env.aws.apigateway, api.id, env.timing.clock);
    },
  },
});
