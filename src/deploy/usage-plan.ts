/**
 * Guide step 6: the API key and the usage plan. The key's value is generated here (crypto random,
 * 40 characters) and never printed unless asked; the plan gets the throttle and quota from the
 * config, the API stage and the key. After a change the plan is read back: API Gateway can clamp
 * a throttle to the account's limit, and the user must hear about it.
 */
import { randomBytes } from 'node:crypto';
import {
  type ApiKeyInfo,
  addUsagePlanKey,
  createApiKey,
  createUsagePlan,
  findUsagePlansByName,
  getApiKey,
  listApiKeysNamed,
  listUsagePlanKeys,
  type UsagePlanInfo,
  updateUsagePlan,
} from '../aws/apigateway.js';
import type { ChatbotConfig } from '../config.js';
import { UserError } from '../errors.js';
import { createOrUpdate, type FieldChange, item, type PlanItem, pending } from './plan.js';
import type { Refs, StepEnv } from './step-env.js';

export interface UsagePlanDesired {
  name: string;
  keyName: string;
  rateLimit: number;
  burstLimit: number;
  quotaLimit: number;
  quotaPeriod: string;
  apiId: string;
  stage: string;
  tags: Record<string, string>;
}

export interface UsagePlanCurrent {
  plan: UsagePlanInfo | undefined;
  /** The key named in the config, with its value. */
  key: ApiKeyInfo | undefined;
  /** Every key associated with the plan, with values (rotate-key leaves two for a while). */
  planKeys: ApiKeyInfo[];
}

/** A new API key value: 30 random bytes as base64url, 40 characters (API Gateway needs at least 20). */
export function generateApiKeyValue(): string {
  return randomBytes(30).toString('base64url');
}

export function desiredUsagePlan(config: ChatbotConfig, refs: Pick<Refs, 'apiId'>): UsagePlanDesired {
  const u = config.usagePlan;
  return {
    name: u.name,
    keyName: u.keyName,
    rateLimit: u.rateLimit,
    burstLimit: u.burstLimit,
    quotaLimit: u.quotaLimit,
    quotaPeriod: u.quotaPeriod,
    apiId: refs.apiId,
    stage: config.api.stage,
    tags: config.tags,
  };
}

export async function readUsagePlan(
  env: Pick<StepEnv, 'aws'>,
  desired: Pick<UsagePlanDesired, 'name' | 'keyName'>,
): Promise<UsagePlanCurrent> {
  const { apigateway } = env.aws;
  const [plans, keys] = await Promise.all([
    findUsagePlansByName(apigateway, desired.name),
    listApiKeysNamed(apigateway, desired.keyName),
  ]);
  if (plans.length > 1) {
    throw new UserError(`there are ${plans.length} usage plans named ${desired.name}`, {
      hint: 'Delete the extra ones in the API Gateway console, or set usagePlan.name to a unique name.',
    });
  }
  const plan = plans[0];
  const key = keys[0];
  const planKeys: ApiKeyInfo[] = [];
  if (plan) {
    for (const k of await listUsagePlanKeys(apigateway, plan.id)) {
      const known = keys.find((x) => x.id === k.id);
      const full = known ?? (await getApiKey(apigateway, k.id));
      if (full) planKeys.push(full);
    }
  }
  return { plan, key, planKeys };
}

/**
 * The key values the function must accept: every key on the plan, plus the named key (existing,
 * or the value about to be created).
 */
export function acceptedKeyValues(current: UsagePlanCurrent, newKeyValue: string): string[] {
  const values = current.planKeys.filter((k) => k.enabled).flatMap((k) => (k.value ? [k.value] : []));
  const named = current.key ? (current.key.enabled ? current.key.value : undefined) : newKeyValue;
  return [...new Set([...values, ...(named ? [named] : [])])];
}

const stageKey = (s: { apiId: string; stage: string }) => `${s.apiId}:${s.stage}`;

export function usagePlanChanges(plan: UsagePlanInfo, desired: UsagePlanDesired): FieldChange[] {
  const changes: FieldChange[] = [];
  const compare = (field: string, from: unknown, to: unknown) => {
    if (from !== to) changes.push({ field, from: from ?? null, to });
  };
  compare('throttle.rateLimit', plan.throttle.rateLimit, desired.rateLimit);
  compare('throttle.burstLimit', plan.throttle.burstLimit, desired.burstLimit);
  compare('quota.limit', plan.quota.limit, desired.quotaLimit);
  compare('quota.period', plan.quota.period, desired.quotaPeriod);
  const wanted = stageKey(desired);
  if (!plan.apiStages.some((s) => stageKey(s) === wanted)) {
    changes.push({
      field: 'apiStages',
      from: plan.apiStages.map(stageKey),
      to: [...plan.apiStages.map(stageKey), wanted],
    });
  }
  return changes;
}

export function planUsagePlan(current: UsagePlanCurrent, desired: UsagePlanDesired): PlanItem[] {
  const items: PlanItem[] = [];
  items.push(
    current.key
      ? item('usage-plan', 'API key', `${desired.keyName} (${current.key.id})`, 'unchanged')
      : item('usage-plan', 'API key', desired.keyName, 'create', [
          { field: 'value', from: null, to: '(generated, hidden)' },
        ]),
  );
  items.push(
    current.plan
      ? createOrUpdate(
          'usage-plan',
          'usage plan',
          `${desired.name} (${current.plan.id})`,
          true,
          usagePlanChanges(current.plan, desired),
        )
      : item('usage-plan', 'usage plan', desired.name, 'create', [
          { field: 'throttle', from: null, to: `${desired.rateLimit}/s, burst ${desired.burstLimit}` },
          { field: 'quota', from: null, to: `${desired.quotaLimit} per ${desired.quotaPeriod}` },
          { field: 'stage', from: null, to: stageKey(desired) },
        ]),
  );
  const associated = current.key !== undefined && current.planKeys.some((k) => k.id === current.key?.id);
  items.push(
    item(
      'usage-plan',
      'key association',
      `${desired.keyName} → ${desired.name}`,
      associated ? 'unchanged' : 'create',
    ),
  );
  return items;
}

/** Make the key, plan and association match; reads the plan back after a change. Returns the key id. */
export async function applyUsagePlan(
  env: StepEnv,
  current: UsagePlanCurrent,
  desired: UsagePlanDesired,
  newKeyValue: string,
): Promise<string> {
  const { apigateway } = env.aws;
  if (desired.apiId === pending('') || desired.apiId.startsWith('<new '))
    throw new Error('the usage plan needs the API id');
  const keyId =
    current.key?.id ??
    (await createApiKey(apigateway, { name: desired.keyName, value: newKeyValue, tags: desired.tags }));
  let planId = current.plan?.id;
  let changed = false;
  if (!planId) {
    planId = await createUsagePlan(apigateway, {
      name: desired.name,
      rateLimit: desired.rateLimit,
      burstLimit: desired.burstLimit,
      quotaLimit: desired.quotaLimit,
      quotaPeriod: desired.quotaPeriod,
      apiStages: [{ apiId: desired.apiId, stage: desired.stage }],
      tags: desired.tags,
    });
    changed = true;
  } else if (current.plan) {
    const changes = usagePlanChanges(current.plan, desired);
    const ops = changes.map((c) =>
      c.field === 'apiStages'
        ? { op: 'add' as const, path: '/apiStages', value: stageKey(desired) }
        : { op: 'replace' as const, path: `/${c.field.replace('.', '/')}`, value: String(c.to) },
    );
    await updateUsagePlan(apigateway, planId, ops);
    changed = ops.length > 0;
  }
  if (!current.planKeys.some((k) => k.id === keyId)) await addUsagePlanKey(apigateway, planId, keyId);
  if (changed) {
    const readBack = (await findUsagePlansByName(apigateway, desired.name)).find((p) => p.id === planId);
    const lost = readBack
      ? usagePlanChanges(readBack, desired)
      : [{ field: 'usage plan', from: null, to: desired.name }];
    if (lost.length > 0) {
      throw new UserError(
        `API Gateway did not keep the usage plan settings: ${lost.map((c) => `${c.field} is ${JSON.stringify(c.from)}, wanted ${JSON.stringify(c.to)}`).join('; ')}`,
        {
          hint: "The account's throttle limits may be lower than the config asks; lower usagePlan.rateLimit/burstLimit or request a quota increase.",
        },
      );
    }
  }
  return keyId;
}
