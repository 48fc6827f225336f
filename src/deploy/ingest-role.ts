/**
 * The ingest function's own IAM role. Decision: a role of its own rather than the API function's,
 * because what the ingest function may do (read the logs bucket, write its result documents, send
 * to the failure queue) is nothing the internet-facing API function should be able to do. It has
 * the Lambda trust policy, AWSLambdaENIManagementAccess (network interfaces in the VPC, no logs),
 * and inline policies, each scoped to one resource:
 *
 * - logs: its own log group only;
 * - S3: s3:GetObject on `<bucket>/<prefix>*` (the logs), s3:PutObject on `<bucket>/<resultsPrefix>*`
 *   (its result documents), s3:ListBucket on the bucket for keys under the prefix only: without
 *   ListBucket S3 answers a missing key with 403 rather than 404, and an object deleted before it
 *   was read must read as "no longer exists", not as a refusal;
 * - the failure queue: sqs:SendMessage on it (Lambda sends failed events with the function's role);
 * - Secrets Manager: secretsmanager:GetSecretValue on the one secret, when its login is a secret.
 */
import { readFileSync } from 'node:fs';
import {
  deleteInlinePolicy,
  deleteRoleCompletely,
  findRole,
  getInlinePolicy,
  listAttachedPolicyArns,
  type PolicyDocument,
  putInlinePolicy,
  type RoleState,
  samePolicyDocument,
} from '../aws/iam.js';
import type { AwsSession } from '../aws/sts.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { ingestNames } from './ingest-names.js';
import { createOrUpdate, type FieldChange, item, type PlanItem } from './plan.js';
import { applyRoleItself } from './role.js';
import { defineStep, type StepEnv } from './step.js';

export const INGEST_POLICIES = {
  logs: 'CloudWatchLogsPolicy',
  s3: 'LogsBucketPolicy',
  queue: 'FailureQueuePolicy',
  secret: 'SecretsManagerReadPolicy',
} as const;

const template = (name: string) => readFileSync(new URL(`../../templates/${name}`, import.meta.url), 'utf8');

export interface IngestRoleDesired {
  name: string;
  arn: string;
  trustPolicy: PolicyDocument;
  managedPolicyArns: string[];
  /** By name; undefined: the role must not have it. */
  inline: Record<string, PolicyDocument | undefined>;
  tags: Record<string, string>;
}

export interface IngestRoleCurrent {
  role: RoleState | undefined;
  managedPolicyArns: string[];
  inline: Record<string, PolicyDocument | undefined>;
}

/** The secret the ingest function logs in with, if its login is a secret. */
export function ingestSecretArn(config: ChatbotConfig): string | undefined {
  const i = config.ingest;
  if (i.dbSecretArn) return i.dbSecretArn;
  // Its own user name with a password from the environment: no secret, even when the API's is one.
  if (i.dbUser) return undefined;
  return config.database.secretArn;
}

const statement = (
  Sid: string,
  Action: string | string[],
  Resource: string | string[],
  Condition?: object,
) => ({
  Sid,
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition ? { Condition } : {}),
});
const policy = (...Statement: object[]): PolicyDocument => ({ Version: '2012-10-17', Statement });

export function desiredIngestRole(config: ChatbotConfig, session: AwsSession): IngestRoleDesired {
  const n = ingestNames(config, session);
  const { prefix, resultsPrefix } = config.ingest;
  const secret = ingestSecretArn(config);
  return {
    name: n.roleName,
    arn: n.roleArn,
    trustPolicy: JSON.parse(template('lambda-trust-policy.json')) as PolicyDocument,
    managedPolicyArns: [`arn:${session.partition}:iam::aws:policy/service-role/AWSLambdaENIManagementAccess`],
    inline: {
      [INGEST_POLICIES.logs]: JSON.parse(
        template('lambda-logs-policy.json').replaceAll('{{LogGroupArn}}', n.logGroupArn),
      ) as PolicyDocument,
      [INGEST_POLICIES.s3]: policy(
        statement('ReadLogs', 's3:GetObject', `${n.bucketArn}/${prefix}*`),
        statement('WriteResults', 's3:PutObject', `${n.bucketArn}/${resultsPrefix}*`),
        statement('ListLogs', 's3:ListBucket', n.bucketArn, { StringLike: { 's3:prefix': `${prefix}*` } }),
      ),
      [INGEST_POLICIES.queue]: policy(statement('SendFailedEvents', 'sqs:SendMessage', n.queueArn)),
      [INGEST_POLICIES.secret]: secret
        ? policy(statement('ReadDatabaseSecret', 'secretsmanager:GetSecretValue', secret))
        : undefined,
    },
    tags: config.tags,
  };
}

/** The role as AWS has it, read once per run. */
export function readIngestRole(d: Deployment, name: string): Promise<IngestRoleCurrent> {
  return d.cached(`role:${name}`, async () => {
    const role = await findRole(d.aws.iam, name);
    if (!role) return { role, managedPolicyArns: [], inline: {} };
    const names = Object.values(INGEST_POLICIES);
    const [managedPolicyArns, ...docs] = await Promise.all([
      listAttachedPolicyArns(d.aws.iam, name),
      ...names.map((p) => getInlinePolicy(d.aws.iam, name, p)),
    ]);
    return { role, managedPolicyArns, inline: Object.fromEntries(names.map((p, i) => [p, docs[i]])) };
  });
}

export function planIngestRole(current: IngestRoleCurrent, desired: IngestRoleDesired): PlanItem[] {
  const step = 'ingest-role';
  const role = current.role;
  const roleChanges: FieldChange[] = role
    ? [
        ...(samePolicyDocument(role.trustPolicy, desired.trustPolicy)
          ? []
          : [{ field: 'trust policy', from: role.trustPolicy ?? null, to: desired.trustPolicy }]),
        ...(Object.entries(desired.tags).some(([k, v]) => role.tags[k] !== v)
          ? [{ field: 'tags', from: role.tags, to: desired.tags }]
          : []),
      ]
    : [{ field: 'trust', from: null, to: 'lambda.amazonaws.com' }];
  const items = [createOrUpdate(step, 'IAM role', desired.name, role !== undefined, role ? roleChanges : [])];
  for (const arn of desired.managedPolicyArns)
    items.push(
      item(
        step,
        'policy attachment',
        `${arn.split('/').pop()} → ${desired.name}`,
        current.managedPolicyArns.includes(arn) ? 'unchanged' : 'create',
      ),
    );
  for (const [name, doc] of Object.entries(desired.inline)) {
    const have = current.inline[name];
    if (!doc) {
      if (have) items.push(item(step, 'inline policy', `${desired.name}/${name}`, 'delete'));
      continue;
    }
    items.push(
      createOrUpdate(
        step,
        'inline policy',
        `${desired.name}/${name}`,
        have !== undefined,
        samePolicyDocument(have, doc) ? [] : [{ field: 'document', from: have ?? null, to: doc }],
      ),
    );
  }
  return items;
}

export async function applyIngestRole(
  env: StepEnv,
  current: IngestRoleCurrent,
  desired: IngestRoleDesired,
  items: PlanItem[],
): Promise<string> {
  const { iam } = env.aws;
  const arn = await applyRoleItself(
    env,
    current,
    desired,
    items,
    'Execution role of the chatbot ingest Lambda (managed by chatbot-ops)',
  );
  for (const [name, doc] of Object.entries(desired.inline)) {
    const have = current.inline[name];
    if (!doc && have) await deleteInlinePolicy(iam, desired.name, name);
    else if (doc && !samePolicyDocument(have, doc)) await putInlinePolicy(iam, desired.name, name, doc);
  }
  return arn;
}

export const ingestRoleStep = defineStep({
  name: 'ingest-role',
  command: 'create-ingest-role',
  title: 'Ingest IAM role',
  guideStep: '',
  description:
    "The ingest function's own IAM role: its log group, the logs bucket's prefix, its result documents and failure queue only",
  provides: {
    ref: 'ingestRoleArn',
    kind: 'IAM role',
    idIn: (current: IngestRoleCurrent) => current.role?.arn,
    // IAM role ARNs follow from the account and the name.
    predict: (config, session) => ({ id: ingestNames(config, session).roleArn }),
  },
  desired: (ctx) => desiredIngestRole(ctx.inputs.config, ctx.session),
  read: (d, desired) =>
    d.config.ingest.enabled
      ? readIngestRole(d, desired.name)
      : Promise.resolve({ role: undefined, managedPolicyArns: [], inline: {} }),
  plan: (current, desired, ctx) => (ctx.inputs.config.ingest.enabled ? planIngestRole(current, desired) : []),
  apply: (env, current, desired, items) => applyIngestRole(env, current, desired, items),
  destroy: {
    read: async (d) => (await readIngestRole(d, d.config.ingest.role)).role !== undefined,
    plan: (exists, config) => (exists ? [item('ingest-role', 'IAM role', config.ingest.role, 'delete')] : []),
    async apply(env, exists, config) {
      env.removing(`IAM role ${config.ingest.role}`);
      if (exists) await deleteRoleCompletely(env.aws.iam, config.ingest.role);
    },
  },
});
