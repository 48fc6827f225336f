/**
 * `destroy`: remove what deploy made, in the safe order. Alarms; the usage plan (its keys and
 * stages detached first); the API key; the API; the function, then its network interfaces, which
 * Lambda releases on its own schedule (often minutes, up to ~20); the log group unless kept; the
 * RDS group's ingress rule; the Lambda security group; the role last. Never the database.
 * Every read tolerates absence, so a second run (or an empty account) succeeds.
 */
import {
  deleteApiKey,
  deleteRestApi,
  deleteUsagePlan,
  findRestApisByName,
  findUsagePlansByName,
  listApiKeysNamed,
  listUsagePlanKeys,
  removeUsagePlanKey,
  type UsagePlanInfo,
  updateUsagePlan,
} from '../aws/apigateway.js';
import { deleteAlarms, findAlarms } from '../aws/cloudwatch.js';
import {
  deleteSecurityGroup,
  findSecurityGroup,
  findSecurityGroupByName,
  listNetworkInterfaceIds,
  revokeRules,
  type SecurityGroupState,
} from '../aws/ec2.js';
import { deleteRoleCompletely, findRole } from '../aws/iam.js';
import { deleteFunction, findFunction } from '../aws/lambda.js';
import { deleteLogGroup, findLogGroup } from '../aws/logs.js';
import type { ChatbotConfig } from '../config.js';
import { UserError } from '../errors.js';
import { alarmNames } from './alarms.js';
import { mysqlFrom } from './network.js';
import { item, type PlanItem } from './plan.js';
import { logGroupName } from './role.js';
import type { StepEnv } from './step-env.js';

/** Lambda usually releases a deleted function's ENIs within minutes; AWS documents up to ~20. */
export const ENI_RELEASE_BUDGET_MS = 20 * 60_000;
const ENI_POLL_MS = 15_000;

export interface DestroyCurrent {
  alarms: string[];
  usagePlans: (UsagePlanInfo & { keyIds: string[] })[];
  apiKeyIds: string[];
  apiIds: string[];
  functionExists: boolean;
  logGroup: string | undefined;
  lambdaGroup: SecurityGroupState | undefined;
  rdsGroup: SecurityGroupState | undefined;
  roleExists: boolean;
}

export async function readForDestroy(
  env: Pick<StepEnv, 'aws'>,
  config: ChatbotConfig,
): Promise<DestroyCurrent> {
  const { aws } = env;
  const names = alarmNames(config);
  const [alarms, plans, keys, apis, fn, logGroup, lambdaGroup, rdsGroup, role] = await Promise.all([
    findAlarms(aws.cloudwatch, [names.lambdaErrors, names.api4xx]),
    findUsagePlansByName(aws.apigateway, config.usagePlan.name),
    listApiKeysNamed(aws.apigateway, config.usagePlan.keyName),
    findRestApisByName(aws.apigateway, config.api.name),
    findFunction(aws.lambda, config.function.name),
    findLogGroup(aws.logs, logGroupName(config.function.name)),
    findSecurityGroupByName(aws.ec2, config.vpc.vpcId, config.vpc.lambdaSecurityGroupName),
    config.vpc.rdsSecurityGroupId ? findSecurityGroup(aws.ec2, config.vpc.rdsSecurityGroupId) : undefined,
    findRole(aws.iam, config.function.role),
  ]);
  const usagePlans = await Promise.all(
    plans.map(async (p) => ({
      ...p,
      keyIds: (await listUsagePlanKeys(aws.apigateway, p.id)).map((k) => k.id),
    })),
  );
  return {
    alarms: [...alarms.keys()].sort(),
    usagePlans,
    apiKeyIds: keys.map((k) => k.id),
    apiIds: apis.map((a) => a.id),
    functionExists: fn !== undefined,
    logGroup: logGroup?.name,
    lambdaGroup,
    rdsGroup,
    roleExists: role !== undefined,
  };
}

const rdsIngress = (current: DestroyCurrent) => {
  const lambda = current.lambdaGroup;
  if (!lambda || !current.rdsGroup) return undefined;
  const rule = mysqlFrom(lambda.id);
  return current.rdsGroup.ingress.some((r) => r.groupId === rule.groupId && r.fromPort === rule.fromPort)
    ? rule
    : undefined;
};

/** What destroy will delete, in order. Pure. */
export function planDestroy(
  current: DestroyCurrent,
  config: ChatbotConfig,
  options: { keepLogs: boolean },
): PlanItem[] {
  const items: PlanItem[] = [];
  for (const a of current.alarms) items.push(item('alarms', 'alarm', a, 'delete'));
  for (const p of current.usagePlans)
    items.push(
      item('usage-plan', 'usage plan', `${p.name} (${p.id})`, 'delete', [
        { field: 'keys', from: p.keyIds, to: [] },
        { field: 'stages', from: p.apiStages.map((s) => `${s.apiId}:${s.stage}`), to: [] },
      ]),
    );
  for (const k of current.apiKeyIds)
    items.push(item('usage-plan', 'API key', `${config.usagePlan.keyName} (${k})`, 'delete'));
  for (const id of current.apiIds)
    items.push(item('api', 'REST API', `${config.api.name} (${id})`, 'delete'));
  if (current.functionExists) items.push(item('function', 'Lambda function', config.function.name, 'delete'));
  if (current.logGroup && !options.keepLogs)
    items.push(item('function', 'log group', current.logGroup, 'delete'));
  if (rdsIngress(current))
    items.push(
      item(
        'network',
        'ingress rule',
        `${current.rdsGroup?.id} ← TCP 3306 from ${current.lambdaGroup?.id}`,
        'delete',
      ),
    );
  if (current.lambdaGroup)
    items.push(
      item('network', 'security group', `${current.lambdaGroup.name} (${current.lambdaGroup.id})`, 'delete'),
    );
  if (current.roleExists) items.push(item('role', 'IAM role', config.function.role, 'delete'));
  return items;
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

export async function applyDestroy(
  env: StepEnv,
  current: DestroyCurrent,
  config: ChatbotConfig,
  options: { keepLogs: boolean },
): Promise<void> {
  const { aws } = env;
  // What is being removed, so an AWS error says where destroy stopped.
  let removing = '';
  const at = (what: string) => {
    removing = what;
  };
  try {
    at(`alarms ${current.alarms.join(', ')}`);
    if (current.alarms.length > 0) await deleteAlarms(aws.cloudwatch, current.alarms);
    for (const p of current.usagePlans) {
      at(`usage plan ${p.name} (${p.id})`);
      for (const keyId of p.keyIds) await removeUsagePlanKey(aws.apigateway, p.id, keyId);
      // A plan still attached to a stage cannot be deleted.
      await updateUsagePlan(
        aws.apigateway,
        p.id,
        p.apiStages.map((s) => ({
          op: 'remove' as const,
          path: '/apiStages',
          value: `${s.apiId}:${s.stage}`,
        })),
      );
      await deleteUsagePlan(aws.apigateway, p.id);
    }
    for (const k of current.apiKeyIds) {
      at(`API key ${k}`);
      await deleteApiKey(aws.apigateway, k);
    }
    for (const id of current.apiIds) {
      at(`REST API ${id}`);
      await deleteRestApi(aws.apigateway, id);
    }
    at(`Lambda function ${config.function.name}`);
    if (current.functionExists) await deleteFunction(aws.lambda, config.function.name);
    if (current.lambdaGroup) {
      at(`the network interfaces in ${current.lambdaGroup.id}`);
      await waitForNetworkInterfacesGone(env, current.lambdaGroup.id);
    }
    at(`log group ${current.logGroup}`);
    if (current.logGroup && !options.keepLogs) await deleteLogGroup(aws.logs, current.logGroup);
    const ingress = rdsIngress(current);
    at(`the ingress rule of ${current.rdsGroup?.id}`);
    if (ingress && current.rdsGroup) await revokeRules(aws.ec2, current.rdsGroup.id, 'ingress', [ingress]);
    if (current.lambdaGroup) {
      at(`security group ${current.lambdaGroup.id}`);
      const outcome = await deleteSecurityGroup(aws.ec2, current.lambdaGroup.id);
      if (outcome === 'in-use') {
        throw new UserError(`the security group ${current.lambdaGroup.id} is still in use`, {
          hint: `Something else refers to it (a network interface or another group's rule): aws ec2 describe-network-interfaces --filters Name=group-id,Values=${current.lambdaGroup.id}; then run destroy again.`,
        });
      }
    }
    at(`IAM role ${config.function.role}`);
    if (current.roleExists) await deleteRoleCompletely(aws.iam, config.function.role);
  } catch (err) {
    if (err instanceof UserError) throw err;
    const e = err as Error;
    throw new UserError(
      `destroy stopped while removing ${removing}: ${e?.name ? `${e.name}: ` : ''}${e?.message ?? String(err)}`,
      {
        hint: 'Fix the cause (permissions, a resource still in use), then run `chatbot-ops destroy` again: it continues with what is left.',
        cause: err,
      },
    );
  }
}
