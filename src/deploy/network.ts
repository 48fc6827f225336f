/**
 * Guide step 4: the Lambda's network. Its own security group whose only egress is MySQL (TCP 3306)
 * to the RDS security group (plus HTTPS when the password comes from Secrets Manager), and the
 * RDS group's ingress 3306 from it. Subnets must belong to the VPC; public subnets and a single
 * availability zone are warned about.
 */
import {
  authorizeRules,
  createSecurityGroup,
  deleteSecurityGroup,
  describePorts,
  describeRule,
  findGroupsReferencing,
  findSecurityGroup,
  listNetworkInterfaceIds,
  revokeRules,
  revokeRulesAsDescribed,
  type SecurityGroupState,
  type SgRule,
  type SubnetInfo,
} from '../aws/ec2.js';
import type { ChatbotConfig } from '../config.js';
import { type Deployment, ownerTags } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import { item, type PlanItem } from './plan.js';
import { type DestroyEnv, defineStep, type StepEnv } from './step.js';

/** Lambda usually releases a deleted function's ENIs within minutes; AWS documents up to ~20. */
export const ENI_RELEASE_BUDGET_MS = 20 * 60_000;
const ENI_POLL_MS = 15_000;

export interface NetworkDesired {
  vpcId: string;
  subnetIds: string[];
  rdsSecurityGroupId: string;
  lambdaSecurityGroupName: string;
  /** HTTPS out, for Secrets Manager: decided in docs/decisions.md (0.0.0.0/0 works through a NAT gateway or an interface endpoint). */
  httpsEgress: boolean;
  tags: Record<string, string>;
}

export interface NetworkCurrent {
  subnets: SubnetInfo[];
  publicSubnetIds: string[];
  lambdaGroup: SecurityGroupState | undefined;
  rdsGroup: SecurityGroupState | undefined;
}

const MYSQL_PORT = 3306;

const CONFIG_HINT =
  'Run `chatbot-ops deploy --interactive` to choose them from your account, or set vpc.vpcId, vpc.subnetIds and vpc.rdsSecurityGroupId in chatbot-ops.config.json.';

/** The network as the config wants it. Throws a UserError naming the missing fields. */
export function desiredNetwork(config: ChatbotConfig): NetworkDesired {
  const missing = [
    ...(config.vpc.vpcId ? [] : ['vpc.vpcId']),
    ...(config.vpc.subnetIds.length > 0 ? [] : ['vpc.subnetIds']),
    ...(config.vpc.rdsSecurityGroupId ? [] : ['vpc.rdsSecurityGroupId']),
  ];
  if (missing.length > 0) {
    throw new UserError(`the config does not say where the database is: ${missing.join(', ')} missing`, {
      hint: CONFIG_HINT,
      exitCode: 2,
    });
  }
  return {
    vpcId: config.vpc.vpcId ?? '',
    subnetIds: [...config.vpc.subnetIds].sort(),
    rdsSecurityGroupId: config.vpc.rdsSecurityGroupId ?? '',
    lambdaSecurityGroupName: config.vpc.lambdaSecurityGroupName,
    httpsEgress: config.database.secretArn !== undefined,
    tags: ownerTags(config),
  };
}

/** The egress rules the Lambda group must have, and nothing else. */
export function desiredEgress(desired: NetworkDesired): SgRule[] {
  return [
    { protocol: 'tcp', fromPort: MYSQL_PORT, toPort: MYSQL_PORT, groupId: desired.rdsSecurityGroupId },
    ...(desired.httpsEgress ? [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '0.0.0.0/0' }] : []),
  ];
}

export function mysqlFrom(groupId: string): SgRule {
  return { protocol: 'tcp', fromPort: MYSQL_PORT, toPort: MYSQL_PORT, groupId };
}

export async function readNetwork(d: Deployment): Promise<NetworkCurrent> {
  const [subnets, routing, lambdaGroup, rdsGroup] = await Promise.all([
    d.subnets(),
    d.subnetRouting(),
    d.lambdaSecurityGroup(),
    d.rdsSecurityGroup(),
  ]);
  const publicSubnetIds = [...routing].flatMap(([id, r]) => (r.internetGateway ? [id] : [])).sort();
  return { subnets, publicSubnetIds, lambdaGroup, rdsGroup };
}

/**
 * Problems that stop the deploy (subnets elsewhere or unknown, RDS group missing) and warnings
 * (public subnets, one availability zone). Pure.
 */
export function checkNetwork(
  current: NetworkCurrent,
  desired: NetworkDesired,
): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const found = new Map(current.subnets.map((s) => [s.id, s]));
  const unknown = desired.subnetIds.filter((id) => !found.has(id));
  if (unknown.length > 0) errors.push(`subnet(s) ${unknown.join(', ')} not found in this region`);
  const elsewhere = current.subnets.filter((s) => s.vpcId !== desired.vpcId);
  if (elsewhere.length > 0)
    errors.push(
      `subnet(s) ${elsewhere.map((s) => `${s.id} (in ${s.vpcId})`).join(', ')} are not in ${desired.vpcId}`,
    );
  if (!current.rdsGroup) errors.push(`the RDS security group ${desired.rdsSecurityGroupId} does not exist`);
  else if (current.rdsGroup.vpcId !== desired.vpcId)
    errors.push(
      `the RDS security group ${desired.rdsSecurityGroupId} is in ${current.rdsGroup.vpcId}, not ${desired.vpcId}`,
    );
  if (current.publicSubnetIds.length > 0)
    warnings.push(
      `subnet(s) ${current.publicSubnetIds.join(', ')} route to an internet gateway (public): a Lambda there gets no internet access and the database should not live there; prefer private subnets`,
    );
  const zones = new Set(current.subnets.map((s) => s.az));
  if (current.subnets.length > 0 && zones.size < 2)
    warnings.push(
      `all subnets are in one availability zone (${[...zones].join('')}): pick subnets in two or more zones for redundancy`,
    );
  return { errors, warnings };
}

const ruleKey = (r: SgRule) => describeRule(r);

/** Egress to revoke and to authorize so the group has exactly the wanted rules. */
export function egressDelta(current: SgRule[], wanted: SgRule[]): { revoke: SgRule[]; authorize: SgRule[] } {
  const want = new Set(wanted.map(ruleKey));
  const have = new Set(current.map(ruleKey));
  return {
    revoke: current.filter((r) => !want.has(ruleKey(r))),
    authorize: wanted.filter((r) => !have.has(ruleKey(r))),
  };
}

export function planNetwork(current: NetworkCurrent, desired: NetworkDesired): PlanItem[] {
  const { errors } = checkNetwork(current, desired);
  if (errors.length > 0)
    throw new UserError(`the VPC settings do not fit the account: ${errors.join('; ')}`, {
      hint: CONFIG_HINT,
    });
  return planFunctionGroup(
    'network',
    current.lambdaGroup,
    current.rdsGroup,
    lambdaGroupShape(desired),
    desiredEgress(desired),
  );
}

/**
 * A function's own security group, as the API function's and the ingest function's steps manage
 * theirs: its egress exactly the wanted rules, and the RDS group's ingress TCP 3306 from it.
 */
export interface FunctionGroupShape {
  groupName: string;
  vpcId: string;
  rdsSecurityGroupId: string;
  tags: Record<string, string>;
  /** The group's description when it is created. */
  description: string;
  /** The description of its egress rules, and of the RDS group's rule admitting it. */
  egressDescription: string;
  admissionDescription: string;
}

const lambdaGroupShape = (desired: NetworkDesired): FunctionGroupShape => ({
  groupName: desired.lambdaSecurityGroupName,
  vpcId: desired.vpcId,
  rdsSecurityGroupId: desired.rdsSecurityGroupId,
  tags: desired.tags,
  description: 'chatbot Lambda: MySQL to the RDS group only (managed by chatbot-ops)',
  egressDescription: 'chatbot Lambda to its database',
  admissionDescription: 'chatbot Lambda (chatbot-ops)',
});

/** The group's and the RDS rule's plan items. Pure. */
export function planFunctionGroup(
  step: string,
  group: SecurityGroupState | undefined,
  rdsGroup: SecurityGroupState | undefined,
  shape: FunctionGroupShape,
  wanted: SgRule[],
): PlanItem[] {
  const items: PlanItem[] = [];
  if (!group) {
    items.push(
      item(step, 'security group', shape.groupName, 'create', [
        { field: 'vpc', from: null, to: shape.vpcId },
        { field: 'egress', from: null, to: wanted.map(describeRule) },
      ]),
    );
  } else {
    const { revoke, authorize } = egressDelta(group.egress, wanted);
    const changed = revoke.length + authorize.length > 0;
    items.push(
      item(
        step,
        'security group',
        `${shape.groupName} (${group.id})`,
        changed ? 'update' : 'unchanged',
        changed
          ? [{ field: 'egress', from: group.egress.map(describeRule), to: wanted.map(describeRule) }]
          : [],
      ),
    );
  }
  const hasIngress =
    group !== undefined && (rdsGroup?.ingress ?? []).some((r) => ruleKey(r) === ruleKey(mysqlFrom(group.id)));
  items.push(
    item(
      step,
      'ingress rule',
      `${shape.rdsSecurityGroupId} ← TCP ${MYSQL_PORT} from ${shape.groupName}`,
      hasIngress ? 'unchanged' : 'create',
    ),
  );
  return items;
}

/** Make the group (created when missing) and the RDS rule match; returns the group's id. */
export async function applyFunctionGroup(
  env: StepEnv,
  group: SecurityGroupState | undefined,
  rdsGroup: SecurityGroupState | undefined,
  shape: FunctionGroupShape,
  wanted: SgRule[],
): Promise<string> {
  const { ec2 } = env.aws;
  let groupId = group?.id;
  let egress = group?.egress ?? [];
  if (!groupId) {
    groupId = await createSecurityGroup(ec2, {
      vpcId: shape.vpcId,
      name: shape.groupName,
      description: shape.description,
      tags: shape.tags,
    });
    // EC2 gives every new group an allow-all egress rule, and in a dual-stack VPC a second one to
    // ::/0; both must go, so what the group really has is read back rather than assumed.
    egress = (await findSecurityGroup(ec2, groupId))?.egress ?? [{ protocol: '-1', cidr: '0.0.0.0/0' }];
  }
  const { revoke, authorize } = egressDelta(egress, wanted);
  await revokeRules(ec2, groupId, 'egress', revoke);
  await authorizeRules(ec2, groupId, 'egress', authorize, shape.egressDescription);
  const ingress = mysqlFrom(groupId);
  if (!(rdsGroup?.ingress ?? []).some((r) => ruleKey(r) === ruleKey(ingress))) {
    await authorizeRules(ec2, shape.rdsSecurityGroupId, 'ingress', [ingress], shape.admissionDescription);
  }
  return groupId;
}

/** Make the groups match; returns the Lambda security group's id. */
export async function applyNetwork(
  env: StepEnv,
  current: NetworkCurrent,
  desired: NetworkDesired,
): Promise<string> {
  return applyFunctionGroup(
    env,
    current.lambdaGroup,
    current.rdsGroup,
    lambdaGroupShape(desired),
    desiredEgress(desired),
  );
}

/** What destroy finds of a function's group: the group, and the RDS group whose rule admits it. */
export interface FunctionGroupRemoval {
  group: SecurityGroupState | undefined;
  rdsGroup: SecurityGroupState | undefined;
}

const rdsIngress = (found: FunctionGroupRemoval): SgRule | undefined => {
  const fnGroup = found.group;
  if (!fnGroup || !found.rdsGroup) return undefined;
  const rule = mysqlFrom(fnGroup.id);
  return found.rdsGroup.ingress.some((r) => r.groupId === rule.groupId && r.fromPort === rule.fromPort)
    ? rule
    : undefined;
};

/**
 * What destroy finds of this step: the Lambda group, and every rule of another group whose peer it
 * is (the RDS group's ingress from it, found by searching, so without a config, or with an RDS group
 * changed since, the rule is still found).
 */
interface NetworkRemoval {
  lambdaGroup: SecurityGroupState | undefined;
  references: { group: SecurityGroupState; direction: 'ingress' | 'egress'; rules: SgRule[] }[];
}

async function readNetworkRemoval(d: Deployment): Promise<NetworkRemoval> {
  const lambdaGroup = await d.lambdaSecurityGroup();
  if (!lambdaGroup) return { lambdaGroup, references: [] };
  const groups = await findGroupsReferencing(d.aws.ec2, lambdaGroup.id);
  const references = groups
    .filter((g) => g.id !== lambdaGroup.id)
    .flatMap((group) =>
      (['ingress', 'egress'] as const).map((direction) => ({
        group,
        direction,
        rules: group[direction].filter((r) => r.groupId === lambdaGroup.id),
      })),
    )
    .filter((r) => r.rules.length > 0);
  return { lambdaGroup, references };
}

const ruleLine = (
  group: SecurityGroupState,
  direction: 'ingress' | 'egress',
  rule: SgRule,
  lambdaId: string,
) =>
  direction === 'ingress'
    ? `${group.id} (${group.name}) ← ${describePorts(rule)} from ${lambdaId}`
    : `${group.id} (${group.name}) → ${describePorts(rule)} to ${lambdaId}`;

/**
 * Revoke rules, then read the group again: EC2 may answer a revoke that matched nothing with success
 * (listing the rule as unknown), and a group that still refers to the Lambda group keeps that group
 * from being deleted.
 */
async function revokeAndVerify(
  env: StepEnv,
  ref: NetworkRemoval['references'][number],
  lambdaId: string,
): Promise<void> {
  await revokeRules(env.aws.ec2, ref.group.id, ref.direction, ref.rules);
  const leftAfter = async () =>
    ((await findSecurityGroup(env.aws.ec2, ref.group.id))?.[ref.direction] ?? []).filter(
      (r) => r.groupId === lambdaId,
    );
  let left = await leftAfter();
  if (left.length > 0) {
    await revokeRulesAsDescribed(env.aws.ec2, ref.group.id, ref.direction, lambdaId);
    left = await leftAfter();
  }
  if (left.length > 0) {
    throw new UserError(
      `the ${ref.direction} rule ${ruleLine(ref.group, ref.direction, left[0] as SgRule, lambdaId)} is still there after revoking it`,
      {
        hint: `Remove it in the EC2 console (security group ${ref.group.id}, ${ref.direction} rules) or with aws ec2 revoke-security-group-${ref.direction} --group-id ${ref.group.id} --ip-permissions ..., then run destroy again.`,
      },
    );
  }
}

/** What goes: the RDS group's rule, then the group. Pure. */
export function planFunctionGroupRemoval(step: string, found: FunctionGroupRemoval): PlanItem[] {
  const items: PlanItem[] = [];
  if (rdsIngress(found))
    items.push(
      item(step, 'ingress rule', `${found.rdsGroup?.id} ← TCP 3306 from ${found.group?.id}`, 'delete'),
    );
  if (found.group)
    items.push(item(step, 'security group', `${found.group.name} (${found.group.id})`, 'delete'));
  return items;
}

/**
 * Remove the group once Lambda has released the network interfaces of the function that used it
 * (on its own schedule: the group cannot go while they hold it), and the RDS group's rule first.
 */
export async function removeFunctionGroup(env: DestroyEnv, found: FunctionGroupRemoval): Promise<void> {
  const { ec2 } = env.aws;
  if (found.group) {
    env.removing(`the network interfaces in ${found.group.id}`);
    await waitForNetworkInterfacesGone(env, found.group.id);
  }
  const ingress = rdsIngress(found);
  if (ingress && found.rdsGroup) {
    env.removing(`the ingress rule of ${found.rdsGroup.id}`);
    await revokeRules(ec2, found.rdsGroup.id, 'ingress', [ingress]);
  }
  if (found.group) {
    env.removing(`security group ${found.group.id}`);
    const outcome = await deleteSecurityGroup(ec2, found.group.id);
    if (outcome === 'in-use') {
      throw new UserError(`the security group ${found.group.id} is still in use`, {
        hint: `Something else refers to it (a network interface or another group's rule): aws ec2 describe-network-interfaces --filters Name=group-id,Values=${found.group.id}; then run destroy again.`,
      });
    }
  }
}

/** Poll until no network interface uses the group, within the budget. */
export async function waitForNetworkInterfacesGone(env: StepEnv, groupId: string): Promise<void> {
  const started = env.timing.clock.now();
  for (;;) {
    const enis = await listNetworkInterfaceIds(env.aws.ec2, groupId);
    if (enis.length === 0) return;
    const waited = env.timing.clock.now() - started;
    if (waited >= ENI_RELEASE_BUDGET_MS) {
      throw new UserError(
        `Lambda has not released ${enis.length} network interface(s) in ${groupId} after ${Math.round(waited / 60000)} min`,
        {
          hint: `They go on their own once the function is deleted; run \`chatbot-ops destroy\` again later (it continues). See: aws ec2 describe-network-interfaces --filters Name=group-id,Values=${groupId}`,
        },
      );
    }
    env.progress(
      `waiting for Lambda to release ${enis.length} network interface(s) in ${groupId} (${Math.round(waited / 1000)} s; this can take up to 20 minutes)`,
    );
    await env.timing.clock.sleep(ENI_POLL_MS);
  }
}

export const networkStep = defineStep({
  name: 'network',
  command: 'configure-vpc',
  title: 'VPC security groups',
  guideStep: '4',
  provides: {
    ref: 'lambdaSecurityGroupId',
    kind: 'security group',
    idIn: (current: NetworkCurrent) => current.lambdaGroup?.id,
    predict: (config) => ({ pending: config.vpc.lambdaSecurityGroupName }),
  },
  desired: (ctx) => desiredNetwork(ctx.inputs.config),
  read: (d) => readNetwork(d),
  plan: (current, desired) => planNetwork(current, desired),
  warnings: (current, desired) => checkNetwork(current, desired).warnings,
  apply: (env, current, desired) => applyNetwork(env, current, desired),
  destroy: {
    read: (d) => readNetworkRemoval(d),
    plan(found) {
      const lambda = found.lambdaGroup;
      if (!lambda) return [];
      return [
        ...found.references.flatMap((ref) =>
          ref.rules.map((rule) =>
            item(
              'network',
              `${ref.direction} rule`,
              ruleLine(ref.group, ref.direction, rule, lambda.id),
              'delete',
            ),
          ),
        ),
        item('network', 'security group', `${lambda.name} (${lambda.id})`, 'delete'),
      ];
    },
    async apply(env, found) {
      const lambda = found.lambdaGroup;
      if (!lambda) return;
      // Lambda releases a deleted function's network interfaces on its own schedule; the group
      // cannot go while they hold it.
      env.removing(`the network interfaces in ${lambda.id}`);
      await waitForNetworkInterfacesGone(env, lambda.id);
      for (const ref of found.references) {
        env.removing(`the ${ref.direction} rules of ${ref.group.id} that refer to ${lambda.id}`);
        await revokeAndVerify(env, ref, lambda.id);
      }
      env.removing(`security group ${lambda.id}`);
      const outcome = await deleteSecurityGroup(env.aws.ec2, lambda.id);
      if (outcome === 'in-use') {
        throw new UserError(`the security group ${lambda.id} is still in use`, {
          hint: `A network interface still uses it (aws ec2 describe-network-interfaces --filters Name=group-id,Values=${lambda.id}), or a rule of another group was added since; run destroy again.`,
        });
      }
    },
  },
});
