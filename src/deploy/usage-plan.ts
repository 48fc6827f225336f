/**
 * Guide step 6: the API key and the usage plan. The key's value is generated before planning
 * (generateApiKeyValue) and never printed unless asked; the plan gets the throttle and quota from
 * the config, the API stage and the key. After a change the plan is read back: API Gateway can
 * clamp a throttle to the account's limit, and the user must hear about it.
 */
import {
  type ApiKeyDetail,
  addUsagePlanKey,
  createApiKey,
  createUsagePlan,
  deleteApiKey,
  deleteUsagePlan,
  findUsagePlansByName,
  removeUsagePlanKey,
  type UsagePlanInfo,
  updateUsagePlan,
} from '../aws/apigateway.js';
import type { ChatbotConfig } from '../config.js';
import { type Deployment, ownerTags } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import { createOrUpdate, type FieldChange, item, type PlanItem } from './plan.js';
import { defineStep, type StepEnv } from './step.js';

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
  /** The key deploy keeps on the plan (the current key; see Deployment.deployedKey), with its value. */
  key: ApiKeyDetail | undefined;
  /** Ids of every key on the plan (rotate-key leaves two for a while). */
  planKeyIds: ReadonlySet<string>;
}

export function desiredUsagePlan(config: ChatbotConfig, refs: { apiId: string }): UsagePlanDesired {
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
    tags: ownerTags(config),
  };
}

export async function readUsagePlan(d: Deployment): Promise<UsagePlanCurrent> {
  const [plan, key, planKeyIds] = await Promise.all([d.usagePlan(), d.deployedKey(), d.planKeyIds()]);
  return { plan, key, planKeyIds };
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
  const associated = current.key !== undefined && current.planKeyIds.has(current.key.id);
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
    await updateUsagePlan(apigateway, planId, ops, env.timing.clock);
    changed = ops.length > 0;
  }
  if (!current.planKeyIds.has(keyId)) await addUsagePlanKey(apigateway, planId, keyId);
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

/** What destroy finds of this step: the plan with the keys on it, and every key with the name. */
interface UsagePlanRemoval {
  plan: (UsagePlanInfo & { keyIds: string[] }) | undefined;
  keyIds: string[];
}

export const usagePlanStep = defineStep({
  name: 'usage-plan',
  command: 'create-usage-plan',
  title: 'API key and usage plan',
  guideStep: '6',
  options: [{ flags: '--show-key', description: 'print the API key value at the end (a secret)' }],
  needs: ['api'],
  desired: (ctx) => desiredUsagePlan(ctx.inputs.config, { apiId: ctx.refs.get('apiId') }),
  read: (d) => readUsagePlan(d),
  plan: (current, desired) => planUsagePlan(current, desired),
  async apply(env, current, desired, _items, ctx) {
    ctx.refs.require('apiId', 'the usage plan');
    await applyUsagePlan(env, current, desired, ctx.inputs.newKeyValue);
    return undefined;
  },
  // The value of the key deploy keeps, for --show-key and the smoke test.
  outputs: (current, ctx) => ({ apiKey: current.key?.value ?? ctx.inputs.newKeyValue }),
  destroy: {
    read: async (d): Promise<UsagePlanRemoval> => {
      const [plan, planKeyIds, keys] = await Promise.all([d.usagePlan(), d.planKeyIds(), d.apiKeys()]);
      return { plan: plan && { ...plan, keyIds: [...planKeyIds] }, keyIds: keys.map((k) => k.id) };
    },
    plan(found, config) {
      const p = found.plan;
      return [
        ...(p
          ? [
              item('usage-plan', 'usage plan', `${p.name} (${p.id})`, 'delete', [
                { field: 'keys', from: p.keyIds, to: [] },
                { field: 'stages', from: p.apiStages.map((s) => `${s.apiId}:${s.stage}`), to: [] },
              ]),
            ]
          : []),
        // Every key with the name: a rotation may have left more than one.
        ...found.keyIds.map((k) =>
          item('usage-plan', 'API key', `${config.usagePlan.keyName} (${k})`, 'delete'),
        ),
      ];
    },
    async apply(env, found) {
      const { apigateway } = env.aws;
      const p = found.plan;
      if (p) {
        env.removing(`usage plan ${p.name} (${p.id})`);
        for (const keyId of p.keyIds) await removeUsagePlanKey(apigateway, p.id, keyId);
        // A plan still attached to a stage cannot be deleted.
        await updateUsagePlan(
          apigateway,
          p.id,
          p.apiStages.map((s) => ({
            op: 'remove' as const,
            path: '/apiStages',
            value: `${s.apiId}:${s.stage}`,
          })),
          env.timing.clock,
        );
        await deleteUsagePlan(apigateway, p.id, env.timing.clock);
      }
      for (const k of found.keyIds) {
        env.removing(`API key ${k}`);
        await deleteApiKey(apigateway, k);
      }
    },
  },
});
