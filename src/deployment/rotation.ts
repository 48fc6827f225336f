/**
 * Rotating the API key in two stages, so no client is cut off (`chatbot-ops rotate-key` prints what
 * happens; src/commands/rotate-key.ts):
 *   1. start: a new key with the same name, its hash added to the function's API_KEYS (waiting for
 *      the update), then attached to the usage plan. Both keys now work.
 *   2. finish: every older key with that name is detached from the plan, its hash removed from
 *      API_KEYS, and deleted.
 * Where a rotation stands is read from AWS each time (the keys' creation order, the plan, API_KEYS),
 * so an interrupted run is finished by running the same command again. The current key is the
 * deployment model's (src/deployment/deployment.ts): after stage 1 it is the new key.
 */
import {
  type ApiKeyDetail,
  addUsagePlanKey,
  createApiKey,
  deleteApiKey,
  removeUsagePlanKey,
  type UsagePlanInfo,
} from '../aws/apigateway.js';
import { type FunctionState, updateFunctionConfiguration } from '../aws/lambda.js';
import type { Timing } from '../aws/timing.js';
import { UserError } from '../errors.js';
import { generateApiKeyValue, hashApiKey } from '../lambda/api-keys.js';
import { currentKeyOf, type Deployment, ownerTags } from './deployment.js';

/** Set on keys `rotate-key` creates, with the time: tells an interrupted rotation's key from a stray one. */
export const ROTATION_TAG = 'chatbot-ops:rotation-started';

export interface RotationStatus {
  /** The current key: the newest enabled key on the plan. */
  current: ApiKeyDetail | undefined;
  /** A key a previous `rotate-key` created, newer than the current one, but did not get to attach. */
  pending: ApiKeyDetail | undefined;
  /** Enabled keys on the plan. */
  attached: ApiKeyDetail[];
  /** Keys with the name that are older than the current one: what `--finish` retires. */
  older: ApiKeyDetail[];
}

/** Where a rotation stands. `keys` oldest first (as listApiKeysNamed returns them). Pure. */
export function rotationStatus(keys: readonly ApiKeyDetail[], onPlan: ReadonlySet<string>): RotationStatus {
  const attached = keys.filter((k) => k.enabled && onPlan.has(k.id));
  const current = currentKeyOf(keys, onPlan);
  const after = current ? keys.slice(keys.indexOf(current) + 1) : [...keys];
  const pending = after
    .filter((k) => k.enabled && !onPlan.has(k.id) && k.tags[ROTATION_TAG] !== undefined)
    .at(-1);
  const older = current ? keys.slice(0, keys.indexOf(current)) : [];
  return { current, pending, attached, older };
}

/** API_KEYS with the hashes of `add` present and every entry for `remove` (hash or plain value) gone. Sorted. */
export function editApiKeys(
  current: string | undefined,
  add: readonly string[],
  remove: readonly string[],
): string {
  const drop = new Set(remove.flatMap((v) => [v, hashApiKey(v)]));
  const entries = (current ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e && !drop.has(e));
  return [...new Set([...entries, ...add.map(hashApiKey)])].sort().join(',');
}

/** How a rotation tells what it does: each action begins, then ends with what it did. */
export interface RotationProgress {
  begin(text: string): (outcome: string) => void;
  note(text: string): void;
}

interface RotationTarget {
  deployment: Deployment;
  fn: FunctionState;
  plan: UsagePlanInfo;
  status: RotationStatus;
}

/** The function and the plan (both must exist), and where the rotation stands. */
async function readRotation(d: Deployment): Promise<RotationTarget> {
  const [fn, plan, keys, onPlan] = await Promise.all([
    d.function(),
    d.usagePlan(),
    d.apiKeys(),
    d.planKeyIds(),
  ]);
  if (!fn) {
    throw new UserError(`no Lambda function named ${d.config.function.name}`, {
      hint: 'Deploy first: `chatbot-ops deploy`.',
    });
  }
  if (!plan) {
    throw new UserError(`no usage plan named ${d.config.usagePlan.name}`, {
      hint: 'Create it first: `chatbot-ops create-usage-plan`.',
    });
  }
  return { deployment: d, fn, plan, status: rotationStatus(keys, onPlan) };
}

/** Write API_KEYS when it changes; waits until the function is ready before and after (src/aws/lambda.ts). */
async function setApiKeys(t: RotationTarget, next: string, timing: Timing): Promise<boolean> {
  if ((t.fn.environment.API_KEYS ?? '') === next) return false;
  await updateFunctionConfiguration(
    t.deployment.aws.lambda,
    t.fn.name,
    { environment: { ...t.fn.environment, API_KEYS: next } },
    timing,
  );
  return true;
}

const utcStamp = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

export interface StartedRotation {
  /** `started`: a key was created now; `in-progress`: an earlier run's key was found. */
  stage: 'started' | 'in-progress';
  newKey: ApiKeyDetail & { value: string };
  oldKeyIds: string[];
}

/** Stage 1. Creates the new key only when no earlier run left one. */
export async function startRotation(
  d: Deployment,
  timing: Timing,
  progress: RotationProgress,
): Promise<StartedRotation> {
  const t = await readRotation(d);
  const { config } = d;
  const { status } = t;
  if (!status.current && !status.pending) {
    throw new UserError(
      `no enabled key named ${config.usagePlan.keyName} is on the usage plan ${t.plan.name}: there is nothing to rotate`,
      { hint: 'Create the first key with `chatbot-ops create-usage-plan`.' },
    );
  }
  let newKey: ApiKeyDetail;
  let created = false;
  if (status.pending) {
    newKey = status.pending;
    progress.note(
      `Resuming the rotation started ${newKey.tags[ROTATION_TAG]}: key ${newKey.id} exists but is not on the plan yet.`,
    );
  } else if (status.attached.length >= 2 && status.current) {
    newKey = status.current;
    progress.note(
      `A rotation is already in progress: ${status.attached.length} keys are on the plan; the new one is ${newKey.id}.`,
    );
  } else {
    const value = generateApiKeyValue();
    const done = progress.begin('creating the new API key');
    const id = await createApiKey(d.aws.apigateway, {
      name: config.usagePlan.keyName,
      value,
      tags: { ...ownerTags(config), [ROTATION_TAG]: utcStamp(new Date()) },
    });
    done(`created key ${config.usagePlan.keyName} (${id})`);
    newKey = { id, name: config.usagePlan.keyName, enabled: true, createdDate: new Date(), tags: {}, value };
    created = true;
  }
  const { value } = newKey;
  if (!value) throw new UserError(`API Gateway returned no value for key ${newKey.id}`);
  // Every key on the plan keeps working: the function must accept all of them and the new one.
  const values = [...status.attached, newKey].flatMap((k) => (k.value ? [k.value] : []));
  const accepting = progress.begin("adding the new key's hash to the function's API_KEYS");
  const updated = await setApiKeys(t, editApiKeys(t.fn.environment.API_KEYS, values, []), timing);
  accepting(
    updated
      ? 'API_KEYS accepts the old and the new key (function updated)'
      : 'API_KEYS already accepts both keys',
  );
  if (!(await d.planKeyIds()).has(newKey.id)) {
    const attaching = progress.begin(`attaching the new key to ${t.plan.name}`);
    await addUsagePlanKey(d.aws.apigateway, t.plan.id, newKey.id);
    attaching(`new key on the usage plan ${t.plan.name}`);
  }
  return {
    stage: created ? 'started' : 'in-progress',
    newKey: { ...newKey, value },
    oldKeyIds: status.attached.filter((k) => k.id !== newKey.id).map((k) => k.id),
  };
}

export interface FinishedRotation {
  current: ApiKeyDetail;
  retiredKeyIds: string[];
}

/** What `--finish` would do, read and checked, before anything changes. */
export interface FinishPlan {
  current: ApiKeyDetail;
  /** The keys to retire, oldest first; empty when there is nothing to finish. */
  older: ApiKeyDetail[];
  /** The steps, as plan items (src/deploy/plan.ts shows them): detach, API_KEYS, delete. */
  items: {
    kind: string;
    resource: string;
    action: 'update' | 'delete';
    changes: { field: string; from: unknown; to: unknown }[];
  }[];
  /** API_KEYS after the old hashes are gone. */
  nextApiKeys: string;
  target: RotationTarget;
}

/**
 * Stage 2, planned: what retiring the older keys takes. Refuses while a new key is not on the plan
 * (that would leave no working key). Reads only.
 */
export async function planFinishRotation(d: Deployment): Promise<FinishPlan> {
  const t = await readRotation(d);
  const { status } = t;
  if (status.pending) {
    throw new UserError(
      `the new key ${status.pending.id} is not on the usage plan yet: finishing now would leave no working key`,
      { hint: 'Run `chatbot-ops rotate-key` again to complete the first stage, then `--finish`.' },
    );
  }
  const current = status.current;
  if (!current?.value) {
    throw new UserError(
      `no enabled key named ${d.config.usagePlan.keyName} is on the usage plan ${t.plan.name}`,
      { hint: 'Nothing can be retired without a working key: run `chatbot-ops create-usage-plan`.' },
    );
  }
  const onPlan = await d.planKeyIds();
  const before = t.fn.environment.API_KEYS ?? '';
  const nextApiKeys = editApiKeys(
    before,
    [current.value],
    status.older.flatMap((k) => (k.value ? [k.value] : [])),
  );
  const count = (v: string) => `(${v.split(',').filter(Boolean).length} key hash(es))`;
  const items: FinishPlan['items'] =
    status.older.length === 0
      ? []
      : [
          ...status.older
            .filter((k) => onPlan.has(k.id))
            .map((k) => ({
              kind: 'key association',
              resource: `${k.name} (${k.id}) → ${t.plan.name}`,
              action: 'delete' as const,
              changes: [],
            })),
          ...(nextApiKeys !== before
            ? [
                {
                  kind: 'Lambda function',
                  resource: t.fn.name,
                  action: 'update' as const,
                  changes: [{ field: 'environment.API_KEYS', from: count(before), to: count(nextApiKeys) }],
                },
              ]
            : []),
          ...status.older.map((k) => ({
            kind: 'API key',
            resource: `${k.name} (${k.id})`,
            action: 'delete' as const,
            changes: k.createdDate ? [{ field: 'created', from: utcStamp(k.createdDate), to: null }] : [],
          })),
        ];
  return { current, older: status.older, items, nextApiKeys, target: t };
}

/** Stage 2, applied: each part is skipped when already done, so a re-run converges. */
export async function finishRotation(
  d: Deployment,
  planned: FinishPlan,
  timing: Timing,
  progress: RotationProgress,
): Promise<FinishedRotation> {
  const { current, older, target: t } = planned;
  if (older.length === 0) return { current, retiredKeyIds: [] };
  // Order: off the plan first (API Gateway refuses the old key at once), then out of API_KEYS,
  // then deleted.
  const onPlan = await d.planKeyIds();
  for (const old of older) {
    if (!onPlan.has(old.id)) continue;
    const done = progress.begin(`detaching key ${old.id} from ${t.plan.name}`);
    await removeUsagePlanKey(d.aws.apigateway, t.plan.id, old.id);
    done(`key ${old.id} detached from the usage plan`);
  }
  const removing = progress.begin("removing the old keys' hashes from API_KEYS");
  const updated = await setApiKeys(t, planned.nextApiKeys, timing);
  removing(
    updated
      ? 'API_KEYS accepts only the new key (function updated)'
      : 'API_KEYS already accepts only the new key',
  );
  for (const old of older) {
    const done = progress.begin(`deleting key ${old.id}`);
    await deleteApiKey(d.aws.apigateway, old.id);
    done(`key ${old.id} deleted`);
  }
  return { current, retiredKeyIds: older.map((k) => k.id) };
}
