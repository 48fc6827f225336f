/**
 * The API stage's access logs (the guide's Support section: "Review API Gateway logs"): one JSON
 * line per request (request id, API key id, caller address, method, path, status, latencies) in a
 * log group of their own with a retention. Opt-in (`accessLogs.enabled`).
 *
 * API Gateway writes any stage's logs to CloudWatch through one role per account and region (its
 * "CloudWatch log role ARN" setting). When the account has none, this step creates the role
 * `chatbot-ops-apigateway-cloudwatch` (trusting apigateway.amazonaws.com, with AWS's managed
 * AmazonAPIGatewayPushToCloudWatchLogs) and sets it; an account that has one keeps it. Because every
 * API in the region may come to rely on that setting, destroy leaves the role and the setting alone
 * (docs/decisions.md). Switched off, the next deploy stops the stage writing to the group; the group
 * and its logs stay until destroy (without --keep-logs).
 */
import {
  getAccountCloudWatchRole,
  type StageState,
  setAccountCloudWatchRole,
  updateStage,
} from '../aws/apigateway.js';
import { attachPolicy, createRole, findRole, type PolicyDocument } from '../aws/iam.js';
import {
  createLogGroup,
  deleteLogGroup,
  findLogGroup,
  type LogGroupState,
  setLogRetention,
} from '../aws/logs.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { createOrUpdate, type FieldChange, item, optInItem, type PlanItem } from './plan.js';
import { defineStep } from './step.js';

const STEP = 'access-logs';

/** The account-level role this step creates when the account has none. */
export const ACCOUNT_ROLE_NAME = 'chatbot-ops-apigateway-cloudwatch';

/**
 * One JSON object per request. `apiKeyId` is the key's id, never its value
 * (`$context.identity.apiKey` would log the secret itself).
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  apiKeyId: '$context.identity.apiKeyId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  error: '$context.error.message',
});

export interface AccessLogsDesired {
  enabled: boolean;
  apiName: string;
  stage: string;
  logGroup: { name: string; arn: string; retentionDays: number };
  format: string;
  accountRole: { name: string; arn: string; policyArn: string; trustPolicy: PolicyDocument };
  tags: Record<string, string>;
}

export interface AccessLogsCurrent {
  stage: StageState | undefined;
  /** Read only while access logging is wanted. */
  logGroup: LogGroupState | undefined;
  /** The account's CloudWatch role; read only while access logging is wanted. */
  accountRoleArn: string | undefined;
}

/** The group's name: the config's, else one under /aws/apigateway/ named after the API and stage. */
export function accessLogGroupName(config: ChatbotConfig): string {
  return config.accessLogs.logGroupName ?? `/aws/apigateway/${config.api.name}/${config.api.stage}/access`;
}

/** The access log group, read once per run (deploy and destroy share it). */
export const readAccessLogGroup = (d: Deployment): Promise<LogGroupState | undefined> =>
  d.cached('accessLogGroup', () => findLogGroup(d.aws.logs, accessLogGroupName(d.config)));

/** The account's CloudWatch role setting, read once per run. */
export const readAccountCloudWatchRole = (d: Deployment): Promise<string | undefined> =>
  d.cached('apiGatewayAccountRole', () => getAccountCloudWatchRole(d.aws.apigateway));

export async function readAccessLogs(d: Deployment, desired: AccessLogsDesired): Promise<AccessLogsCurrent> {
  if (!desired.enabled) return { stage: await d.stage(), logGroup: undefined, accountRoleArn: undefined };
  const [stage, logGroup, accountRoleArn] = await Promise.all([
    d.stage(),
    readAccessLogGroup(d),
    readAccountCloudWatchRole(d),
  ]);
  return { stage, logGroup, accountRoleArn };
}

export function planAccessLogs(current: AccessLogsCurrent, desired: AccessLogsDesired): PlanItem[] {
  const stageResource = `stage ${desired.apiName}/${desired.stage}`;
  const log = current.stage?.accessLog;
  if (!desired.enabled) {
    // Only logging into chatbot-ops' own group is switched off; logging set up elsewhere is not ours.
    return optInItem(
      STEP,
      'access logging',
      stageResource,
      false,
      log?.destinationArn === desired.logGroup.arn,
    );
  }
  const group = current.logGroup;
  const logChanges: FieldChange[] = [
    ...(log?.destinationArn !== desired.logGroup.arn
      ? [{ field: 'destination', from: log?.destinationArn ?? null, to: desired.logGroup.arn }]
      : []),
    ...(log?.format !== desired.format
      ? [{ field: 'format', from: log ? 'other' : null, to: 'JSON (request id, key id, status, latency)' }]
      : []),
  ];
  return [
    current.accountRoleArn
      ? item(STEP, 'API Gateway account CloudWatch role', current.accountRoleArn, 'unchanged')
      : item(STEP, 'API Gateway account CloudWatch role', desired.accountRole.name, 'create', [
          { field: 'cloudwatchRoleArn (account-wide)', from: null, to: desired.accountRole.arn },
        ]),
    createOrUpdate(
      STEP,
      'log group',
      desired.logGroup.name,
      group !== undefined,
      group?.retentionDays !== desired.logGroup.retentionDays
        ? [
            {
              field: 'retention days',
              from: group ? (group.retentionDays ?? 'never expire') : null,
              to: desired.logGroup.retentionDays,
            },
          ]
        : [],
    ),
    ...optInItem(STEP, 'access logging', stageResource, true, log !== undefined, logChanges),
  ];
}

export const accessLogsStep = defineStep({
  name: STEP,
  command: 'access-logs',
  title: 'API access logs',
  guideStep: 'Support 2, "Review API Gateway logs"',
  description:
    "The API stage's access logs as JSON in their own log group, with retention (accessLogs.enabled)",
  needs: ['api'],
  desired: (ctx): AccessLogsDesired => {
    const { config } = ctx.inputs;
    const { partition, region, account } = ctx.session;
    const name = accessLogGroupName(config);
    return {
      enabled: config.accessLogs.enabled,
      apiName: config.api.name,
      stage: config.api.stage,
      logGroup: {
        name,
        arn: `arn:${partition}:logs:${region}:${account}:log-group:${name}`,
        retentionDays: config.accessLogs.retentionDays,
      },
      format: ACCESS_LOG_FORMAT,
      accountRole: {
        name: ACCOUNT_ROLE_NAME,
        arn: `arn:${partition}:iam::${account}:role/${ACCOUNT_ROLE_NAME}`,
        policyArn: `arn:${partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs`,
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        },
      },
      tags: config.tags,
    };
  },
  read: (d, desired) => readAccessLogs(d, desired),
  plan: (current, desired) => planAccessLogs(current, desired),
  async apply(env, _current, desired, items, ctx) {
    const action = (kind: string) => items.find((i) => i.kind === kind)?.action ?? 'unchanged';
    const { apigateway, iam, logs } = env.aws;
    if (action('API Gateway account CloudWatch role') === 'create') {
      const role = desired.accountRole;
      const exists = (await findRole(iam, role.name)) !== undefined;
      if (!exists)
        await createRole(iam, {
          name: role.name,
          trustPolicy: role.trustPolicy,
          description:
            "API Gateway's role for writing logs to CloudWatch, for every API in this region (made by chatbot-ops)",
          tags: desired.tags,
        });
      await attachPolicy(iam, role.name, role.policyArn);
      env.progress(
        'setting the account CloudWatch role for API Gateway (waiting for the new role to be usable)',
      );
      await setAccountCloudWatchRole(apigateway, role.arn, { justCreated: !exists, clock: env.timing.clock });
    }
    const group = action('log group');
    if (group === 'create') await createLogGroup(logs, desired.logGroup.name, desired.tags);
    if (group !== 'unchanged')
      await setLogRetention(logs, desired.logGroup.name, desired.logGroup.retentionDays);
    const logging = action('access logging');
    if (logging !== 'unchanged') {
      const apiId = ctx.refs.require('apiId', 'access logging');
      await updateStage(
        apigateway,
        apiId,
        desired.stage,
        logging === 'delete'
          ? [{ op: 'remove', path: '/accessLogSettings' }]
          : [
              { op: 'replace', path: '/accessLogSettings/destinationArn', value: desired.logGroup.arn },
              { op: 'replace', path: '/accessLogSettings/format', value: desired.format },
            ],
      );
    }
    return undefined;
  },
  destroy: {
    // The stage and its settings go with the API; the account's role and setting stay (see above).
    read: (d) => readAccessLogGroup(d),
    plan: (found, _config, flags) =>
      found && !flags.keepLogs ? [item(STEP, 'log group', found.name, 'delete')] : [],
    async apply(env, found, _config, flags) {
      if (!found || flags.keepLogs) return;
      env.removing(`log group ${found.name}`);
      await deleteLogGroup(env.aws.logs, found.name);
    },
  },
});
