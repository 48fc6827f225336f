/**
 * Guide step 2: the function's IAM role. Trust policy from templates/; the managed
 * AWSLambdaENIManagementAccess (the network-interface permissions Lambda needs in a VPC, nothing
 * else); an inline logs policy scoped to the function's own log group; a read policy for the one
 * Secrets Manager secret when the config names one; and tags.
 *
 * The guide attaches AWSLambdaVPCAccessExecutionRole instead, which also allows writing to every log
 * group in the account, so the scoped logs policy beside it would restrict nothing. A role that has
 * it (made by the guide, or by an earlier chatbot-ops) gets AWSLambdaENIManagementAccess first and
 * then loses it, in that order, so the function is never without its network permissions.
 */
import { readFileSync } from 'node:fs';
import {
  attachPolicy,
  createRole,
  deleteInlinePolicy,
  deleteRoleCompletely,
  detachPolicy,
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
import { type Deployment, ownerTags } from '../deployment/deployment.js';
import { createOrUpdate, type FieldChange, item, type PlanItem } from './plan.js';
import { defineStep, type StepEnv } from './step.js';

export const LOGS_POLICY_NAME = 'CloudWatchLogsPolicy';
/** Network interfaces only: create, describe, delete, assign and unassign addresses. */
export const ENI_POLICY = 'AWSLambdaENIManagementAccess';
/** The guide's choice: the same network permissions plus logs on every log group. */
export const GUIDE_VPC_POLICY = 'AWSLambdaVPCAccessExecutionRole';
const managedPolicyArn = (partition: string, name: string) =>
  `arn:${partition}:iam::aws:policy/service-role/${name}`;
export const SECRET_POLICY_NAME = 'SecretsManagerReadPolicy';

const template = (name: string) => readFileSync(new URL(`../../templates/${name}`, import.meta.url), 'utf8');

export interface RoleDesired {
  name: string;
  arn: string;
  trustPolicy: PolicyDocument;
  managedPolicyArns: string[];
  /** Managed policies to detach when present: replaced by narrower ones. */
  replacedPolicyArns: string[];
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
    managedPolicyArns: [managedPolicyArn(partition, ENI_POLICY)],
    replacedPolicyArns: [managedPolicyArn(partition, GUIDE_VPC_POLICY)],
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
    tags: ownerTags(config),
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

/**
 * A policy document as a plan shows it: one "Allow actions on resources" per statement, whole (a
 * JSON document cut at 80 characters would show nothing but its header).
 */
export function describePolicy(doc: PolicyDocument | undefined): string | null {
  if (!doc) return null;
  const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String).join(', ');
  return (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement])
    .map((st) => {
      const s = st as { Effect?: string; Action?: unknown; Resource?: unknown };
      return `${s.Effect ?? 'Allow'} ${list(s.Action)} on ${list(s.Resource)}`;
    })
    .join('; ');
}

const policyChange = (from: PolicyDocument | undefined, to: PolicyDocument): FieldChange => ({
  field: 'document',
  from: describePolicy(from),
  to: describePolicy(to),
});

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
  const policyName = (arn: string) => arn.split('/').pop() ?? arn;
  for (const arn of desired.managedPolicyArns) {
    const attached = current.managedPolicyArns.includes(arn);
    items.push(
      item(
        'role',
        'policy attachment',
        `${policyName(arn)} → ${desired.name}`,
        attached ? 'unchanged' : 'create',
        attached ? [] : [{ field: 'grants', from: null, to: 'EC2 network interfaces for the VPC (no logs)' }],
      ),
    );
  }
  for (const arn of desired.replacedPolicyArns.filter((a) => current.managedPolicyArns.includes(a))) {
    items.push(
      item('role', 'policy attachment', `${policyName(arn)} → ${desired.name}`, 'delete', [
        {
          field: 'why',
          from: `it also lets the function write to every log group; ${desired.managedPolicyArns.map(policyName).join(', ')} and ${LOGS_POLICY_NAME} replace it`,
          to: null,
        },
      ]),
    );
  }
  const logsSame = samePolicyDocument(current.logsPolicy, desired.logsPolicy);
  items.push(
    createOrUpdate(
      'role',
      'inline policy',
      LOGS_POLICY_NAME,
      current.logsPolicy !== undefined,
      logsSame ? [] : [policyChange(current.logsPolicy, desired.logsPolicy)],
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
        same ? [] : [policyChange(current.secretPolicy, desired.secretPolicy)],
      ),
    );
  } else if (current.secretPolicy) {
    items.push(item('role', 'inline policy', SECRET_POLICY_NAME, 'delete'));
  }
  return items;
}

/**
 * The role itself as the plan says (created, or its trust policy and tags put back) and its
 * managed policies attached, as the API function's and the ingest function's role steps need it;
 * returns its ARN. Inline policies are each step's own.
 */
export async function applyRoleItself(
  env: StepEnv,
  current: Pick<RoleCurrent, 'role' | 'managedPolicyArns'>,
  desired: Pick<RoleDesired, 'name' | 'arn' | 'trustPolicy' | 'managedPolicyArns' | 'tags'>,
  plan: PlanItem[],
  description: string,
): Promise<string> {
  const { iam } = env.aws;
  const roleItem = plan.find((i) => i.kind === 'IAM role');
  let arn = current.role?.arn ?? desired.arn;
  if (roleItem?.action === 'create') {
    arn = await createRole(iam, {
      name: desired.name,
      trustPolicy: desired.trustPolicy,
      description,
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
  return arn;
}

/** Make the role match; returns its ARN. */
export async function applyRole(
  env: StepEnv,
  current: RoleCurrent,
  desired: RoleDesired,
  plan: PlanItem[],
): Promise<string> {
  const { iam } = env.aws;
  const arn = await applyRoleItself(
    env,
    current,
    desired,
    plan,
    'Execution role of the chatbot backend Lambda (managed by chatbot-ops)',
  );
  // Only after the narrower policy is on: the function keeps its network permissions throughout.
  for (const policyArn of desired.replacedPolicyArns) {
    if (current.managedPolicyArns.includes(policyArn)) await detachPolicy(iam, desired.name, policyArn);
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
