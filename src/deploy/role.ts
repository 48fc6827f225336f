/**
 * Guide step 2: the function's IAM role. Trust policy from templates/, the managed
 * AWSLambdaVPCAccessExecutionRole, an inline logs policy scoped to the function's own log group,
 * a read policy for the one Secrets Manager secret when the config names one, and tags.
 */
import { readFileSync } from 'node:fs';
import {
  attachPolicy,
  createRole,
  deleteInlinePolicy,
  deleteRoleCompletely,
  type PolicyDocument,
  putInlinePolicy,
  type RoleState,
  samePolicyDocument,
  tagRole,
  updateTrustPolicy,
} from '../aws/iam.js';
import { functionLogGroup } from '../aws/log-events.js';
import type { AwsSession } from '../aws/sts.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { createOrUpdate, type FieldChange, item, type PlanItem } from './plan.js';
import { defineStep, type StepEnv } from './step.js';

export const LOGS_POLICY_NAME = 'CloudWatchLogsPolicy';
export const SECRET_POLICY_NAME = 'SecretsManagerReadPolicy';

const template = (name: string) => readFileSync(new URL(`../../templates/${name}`, import.meta.url), 'utf8');

export interface RoleDesired {
  name: string;
  arn: string;
  trustPolicy: PolicyDocument;
  managedPolicyArns: string[];
  logsPolicy: PolicyDocument;
  /** Undefined: the role must not have the secret policy. */
  secretPolicy: PolicyDocument | undefined;
  tags: Record<string, string>;
}

export interface RoleCurrent {
  role: RoleState | undefined;
  managedPolicyArns: string[];
  logsPolicy: PolicyDocument | undefined;
  secretPolicy: PolicyDocument | undefined;
}

/** The role as the config wants it; partition and account come from STS, never assumed. */
export function desiredRole(config: ChatbotConfig, session: AwsSession): RoleDesired {
  const { partition, region, account } = session;
  const logGroupArn = `arn:${partition}:logs:${region}:${account}:log-group:${functionLogGroup(config.function.name)}`;
  const secretArn = config.database.secretArn;
  return {
    name: config.function.role,
    arn: `arn:${partition}:iam::${account}:role/${config.function.role}`,
    trustPolicy: JSON.parse(template('lambda-trust-policy.json')) as PolicyDocument,
    managedPolicyArns: [`arn:${partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole`],
    logsPolicy: JSON.parse(
      template('lambda-logs-policy.json').replaceAll('{{LogGroupArn}}', logGroupArn),
    ) as PolicyDocument,
    secretPolicy: secretArn
      ? {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ReadDatabaseSecret',
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: secretArn,
            },
          ],
        }
      : undefined,
    tags: config.tags,
  };
}

export async function readRole(d: Deployment): Promise<RoleCurrent> {
  const role = await d.role();
  if (!role) return { role, managedPolicyArns: [], logsPolicy: undefined, secretPolicy: undefined };
  const [managedPolicyArns, logsPolicy, secretPolicy] = await Promise.all([
    d.roleManagedPolicies(),
    d.roleInlinePolicy(LOGS_POLICY_NAME),
    d.roleInlinePolicy(SECRET_POLICY_NAME),
  ]);
  return { role, managedPolicyArns, logsPolicy, secretPolicy };
}

function tagChanges(current: Record<string, string>, desired: Record<string, string>): FieldChange[] {
  const missing = Object.entries(desired).filter(([k, v]) => current[k] !== v);
  return missing.length === 0 ? [] : [{ field: 'tags', from: current, to: desired }];
}

export function planRole(current: RoleCurrent, desired: RoleDesired): PlanItem[] {
  const exists = current.role !== undefined;
  const roleChanges: FieldChange[] = exists
    ? [
        ...(samePolicyDocument(current.role?.trustPolicy, desired.trustPolicy)
          ? []
          : [{ field: 'trust policy', from: current.role?.trustPolicy ?? null, to: desired.trustPolicy }]),
        ...tagChanges(current.role?.tags ?? {}, desired.tags),
      ]
    : [{ field: 'trust', from: null, to: 'lambda.amazonaws.com' }];
  const items = [createOrUpdate('role', 'IAM role', desired.name, exists, exists ? roleChanges : [])];
  for (const arn of desired.managedPolicyArns) {
    const attached = current.managedPolicyArns.includes(arn);
    items.push(
      item('role', 'managed policy', arn.split('/').pop() ?? arn, attached ? 'unchanged' : 'create'),
    );
  }
  const logsSame = samePolicyDocument(current.logsPolicy, desired.logsPolicy);
  items.push(
    createOrUpdate(
      'role',
      'inline policy',
      LOGS_POLICY_NAME,
      current.logsPolicy !== undefined,
      logsSame ? [] : [{ field: 'document', from: current.logsPolicy ?? null, to: desired.logsPolicy }],
    ),
  );
  if (desired.secretPolicy) {
    const same = samePolicyDocument(current.secretPolicy, desired.secretPolicy);
    items.push(
      createOrUpdate(
        'role',
        'inline policy',
        SECRET_POLICY_NAME,
        current.secretPolicy !== undefined,
        same ? [] : [{ field: 'document', from: current.secretPolicy ?? null, to: desired.secretPolicy }],
      ),
    );
  } else if (current.secretPolicy) {
    items.push(item('role', 'inline policy', SECRET_POLICY_NAME, 'delete'));
  }
  return items;
}

/** Make the role match; returns its ARN. */
export async function applyRole(
  env: StepEnv,
  current: RoleCurrent,
  desired: RoleDesired,
  plan: PlanItem[],
): Promise<string> {
  const { iam } = env.aws;
  const roleItem = plan.find((i) => i.kind === 'IAM role');
  let arn = current.role?.arn ?? desired.arn;
  if (roleItem?.action === 'create') {
    arn = await createRole(iam, {
      name: desired.name,
      trustPolicy: desired.trustPolicy,
      description: 'Execution role of the chatbot backend Lambda (managed by chatbot-ops)',
      tags: desired.tags,
    });
  } else if (roleItem?.action === 'update') {
    if (roleItem.changes.some((c) => c.field === 'trust policy'))
      await updateTrustPolicy(iam, desired.name, desired.trustPolicy);
    if (roleItem.changes.some((c) => c.field === 'tags')) await tagRole(iam, desired.name, desired.tags);
  }
  for (const policyArn of desired.managedPolicyArns) {
    if (!current.managedPolicyArns.includes(policyArn)) await attachPolicy(iam, desired.name, policyArn);
  }
  for (const i of plan.filter((p) => p.kind === 'inline policy' && p.action !== 'unchanged')) {
    if (i.action === 'delete') await deleteInlinePolicy(iam, desired.name, i.resource);
    else if (i.resource === LOGS_POLICY_NAME)
      await putInlinePolicy(iam, desired.name, LOGS_POLICY_NAME, desired.logsPolicy);
    else if (i.resource === SECRET_POLICY_NAME && desired.secretPolicy)
      await putInlinePolicy(iam, desired.name, SECRET_POLICY_NAME, desired.secretPolicy);
  }
  return arn;
}

export const roleStep = defineStep({
  name: 'role',
  command: 'create-role',
  title: 'IAM role',
  guideStep: '2',
  description:
    'IAM role for the function: trust policy, VPC access, logs policy scoped to its log group (guide step 2)',
  provides: {
    ref: 'roleArn',
    kind: 'IAM role',
    idIn: (current: RoleCurrent) => current.role?.arn,
    // IAM role ARNs follow from the account and the name.
    predict: (config, session) => ({ id: desiredRole(config, session).arn }),
  },
  desired: (ctx) => desiredRole(ctx.inputs.config, ctx.session),
  read: (d) => readRole(d),
  plan: (current, desired) => planRole(current, desired),
  apply: (env, current, desired, items) => applyRole(env, current, desired, items),
  destroy: {
    read: async (d) => (await d.role()) !== undefined,
    plan: (exists, config) => (exists ? [item('role', 'IAM role', config.function.role, 'delete')] : []),
    async apply(env, exists, config) {
      env.removing(`IAM role ${config.function.role}`);
      // Last of all: its policies are detached and deleted first, then the role.
      if (exists) await deleteRoleCompletely(env.aws.iam, config.function.role);
    },
  },
});
