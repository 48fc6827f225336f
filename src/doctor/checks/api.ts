/**
 * The REST API (guide step 5; Troubleshooting "401 Unauthorized" and "403 Forbidden": key
 * requirement on the method, stage deployed; Security Checklist "API Gateway requires API key",
 * "HTTPS only").
 */
import type { MethodInfo, ResourceInfo } from '../../aws/apigateway.js';
import { currentDefinition, definitionFingerprint, fingerprintIn } from '../../deploy/api.js';
import { DuplicateNameError } from '../../deployment/deployment.js';
import type { AwsFacts } from '../aws-facts.js';
import { type Check, fail, pass, required, unknown, warn } from '../engine.js';

const CREATE_API = 'Run `chatbot-ops create-api` (guide step 5)';

/** An IAM ARN pattern (`*` and `?` wildcards) as a RegExp. */
export function arnPattern(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

async function postMethod(f: AwsFacts): Promise<{ resource: ResourceInfo; method: MethodInfo }> {
  const resource = required(await f.resource(), `the API has no /${f.config.api.resource} resource`);
  const method = required(resource.methods.POST, `/${f.config.api.resource} has no POST method`);
  return { resource, method };
}

export const apiChecks: Check<AwsFacts>[] = [
  {
    id: 'api.rest-api',
    group: 'API Gateway',
    title: 'REST API',
    async run(f) {
      const apis = await f.restApis();
      const name = f.config.api.name;
      if (apis.length === 0) return fail(`no REST API named ${name}`, `${CREATE_API}.`);
      if (apis.length > 1) {
        const duplicates = new DuplicateNameError(
          'REST API',
          name,
          apis.map((a) => a.id),
          'api.name',
        );
        return fail(duplicates.message, duplicates.hint ?? '');
      }
      return pass(`${name} (${apis[0]?.id}, ${apis[0]?.endpointTypes.join('/') || 'REGIONAL'})`);
    },
  },
  {
    id: 'api.method',
    group: 'API Gateway',
    title: 'POST method requires an API key',
    async run(f) {
      await f.restApi();
      const path = `/${f.config.api.resource}`;
      const resource = await f.resource();
      if (!resource) return fail(`the API has no ${path} resource`, `${CREATE_API}.`);
      const method = resource.methods.POST;
      if (!method) return fail(`${path} has no POST method`, `${CREATE_API}.`);
      if (!method.apiKeyRequired) {
        return fail(
          `POST ${path} has apiKeyRequired false: API Gateway lets calls through without a key and the usage plan's throttle and quota do not apply`,
          `${CREATE_API}: it sets API Key Required to true on the method and redeploys the stage.`,
        );
      }
      return pass(`POST ${path}, apiKeyRequired true, authorization ${method.authorizationType}`);
    },
  },
  {
    id: 'api.integration',
    group: 'API Gateway',
    title: 'Lambda proxy integration to this function',
    async run(f) {
      const { method } = await postMethod(f);
      const fn = await f.deployedFn();
      const i = method.integration;
      if (!i) return fail('POST has no integration: every call answers 500', `${CREATE_API}.`);
      if (i.type !== 'AWS_PROXY') {
        return fail(
          `integration type ${i.type}: the backend expects the Lambda proxy event`,
          `${CREATE_API}: it sets Lambda Proxy Integration (AWS_PROXY).`,
        );
      }
      if (!i.uri.includes(`/functions/${fn.arn}/invocations`) && !i.uri.includes(`/functions/${fn.arn}:`)) {
        const target = /functions\/([^/]+)\/invocations/.exec(i.uri)?.[1] ?? i.uri;
        return fail(
          `the integration calls ${target}, not ${fn.arn}`,
          `${CREATE_API}: it points the integration at this function.`,
        );
      }
      return pass(`AWS_PROXY → ${fn.name}`);
    },
  },
  {
    id: 'api.permission',
    group: 'API Gateway',
    title: 'API Gateway may invoke the function',
    async run(f) {
      const [statements, session, api] = await Promise.all([f.permissions(), f.session(), f.restApi()]);
      const { stage, resource } = f.config.api;
      const source = `arn:${session.partition}:execute-api:${session.region}:${session.account}:${api.id}/${stage}/POST/${resource}`;
      const grants = statements.filter((s) => {
        const principal = JSON.stringify(s.Principal ?? '');
        const actions = Array.isArray(s.Action) ? s.Action : [s.Action ?? ''];
        return (
          s.Effect !== 'Deny' &&
          principal.includes('apigateway.amazonaws.com') &&
          actions.some((a) => a === 'lambda:InvokeFunction' || a === 'lambda:*' || a === '*')
        );
      });
      const scoped = grants.filter((s) => {
        const arn = s.Condition?.ArnLike?.['AWS:SourceArn'];
        return arn !== undefined && arnPattern(arn).test(source);
      });
      if (scoped.length > 0)
        return pass(
          `statement ${scoped[0]?.Sid ?? '(no Sid)'} allows ${scoped[0]?.Condition?.ArnLike?.['AWS:SourceArn']}`,
        );
      const unscoped = grants.filter((s) => s.Condition?.ArnLike?.['AWS:SourceArn'] === undefined);
      if (unscoped.length > 0) {
        return warn(
          `statement ${unscoped[0]?.Sid ?? '(no Sid)'} lets any API Gateway API in any account invoke the function`,
          `${CREATE_API}: it scopes the permission to this API and route (${source}).`,
        );
      }
      return fail(
        `no resource-policy statement lets API Gateway invoke the function from ${source}: every call answers 500 "Internal server error"`,
        `${CREATE_API}: it adds the invoke permission the console's "grant permissions" prompt adds.`,
      );
    },
  },
  {
    id: 'api.stage',
    group: 'API Gateway',
    title: 'stage deployed with the current method',
    async run(f) {
      const stageName = f.config.api.stage;
      await f.restApi();
      const stage = await f.stage();
      if (!stage) {
        return fail(
          `the API has no stage ${stageName}: it is not deployed and every call answers 403`,
          `${CREATE_API}: it deploys the API to the ${stageName} stage ("Deploy API").`,
        );
      }
      const deployed = await f.deployed();
      const path = `/${f.config.api.resource}`;
      const resource = await f.resource();
      const current = resource?.methods.POST;
      // What the deployment froze: its API summary where the endpoint gives one (AWS API emulators
      // do not), and the fingerprint chatbot-ops writes into its description.
      const frozen = fingerprintIn(deployed?.description ?? '');
      const now = currentDefinition(resource ? [resource] : [], f.config.api.resource);
      if (deployed?.methods) {
        const live = deployed.methods[path]?.POST;
        if (!live) {
          return fail(
            `the stage ${stageName} serves deployment ${stage.deploymentId}, which has no POST ${path}: the method was added after the last deployment`,
            `Deploy the API again: ${CREATE_API}.`,
          );
        }
        if (current && current.apiKeyRequired !== live.apiKeyRequired) {
          return fail(
            `the method changed after the last deployment: the stage serves apiKeyRequired ${live.apiKeyRequired}, the method now says ${current.apiKeyRequired}`,
            `Deploy the API again: ${CREATE_API}.`,
          );
        }
      } else if (frozen === undefined || now === undefined) {
        return unknown(
          `the endpoint gave no API summary for deployment ${stage.deploymentId}${frozen === undefined ? ', and its description carries no chatbot-ops fingerprint' : ''}: what the stage serves cannot be read`,
          '`chatbot-ops create-api --redeploy` deploys the current definition with a fingerprint; against AWS, GetDeployment with embed=apisummary shows what a stage serves.',
        );
      }
      if (frozen !== undefined && now !== undefined && frozen !== definitionFingerprint(now)) {
        return fail(
          `the stage ${stageName} serves deployment ${stage.deploymentId}, made from another definition of POST ${path} than the API has now (fingerprint ${frozen}, now ${definitionFingerprint(now)}): the method or its integration changed after the last deployment`,
          `Deploy the API again: ${CREATE_API}.`,
        );
      }
      const url = await f.invokeUrl();
      const when = deployed?.createdDate ? ` of ${deployed.createdDate.toISOString()}` : '';
      return pass(
        `${stageName} serves deployment ${stage.deploymentId}${when}; ${url}${url.startsWith('https://') ? ' (HTTPS only)' : ''}`,
      );
    },
  },
];
