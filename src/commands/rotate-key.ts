/**
 * `chatbot-ops rotate-key` (Security Checklist: "API keys rotated regularly"). Two stages, so no
 * client is cut off:
 *   1. `rotate-key`: a new key with the same name, its hash added to the function's API_KEYS (wait
 *      for the update), then attached to the usage plan. Both keys now work. The new key is printed once.
 *   2. `rotate-key --finish`: every older key with that name is detached from the plan, its hash
 *      removed from API_KEYS, and deleted.
 * Where a rotation stands is read from AWS each time (the keys' creation order, the plan, API_KEYS),
 * so an interrupted run is finished by running the same command again. The current key is the
 * newest enabled one on the plan: `invoke`, `test` and `doctor` use it; `usagePlan.keyName` in the
 * config stays valid because the new key carries the same name.
 */
import {
  type ApiKeyDetail,
  addUsagePlanKey,
  createApiKey,
  deleteApiKey,
  findUsagePlansByName,
  listApiKeysNamed,
  listUsagePlanKeys,
  removeUsagePlanKey,
} from '../aws/apigateway.js';
import type { AwsClients } from '../aws/clients.js';
import { type FunctionState, findFunction, updateFunctionConfiguration } from '../aws/lambda.js';
import type { CommandModule, Context } from '../cli/context.js';
import { deployTiming } from '../deploy/step-env.js';
import { generateApiKeyValue } from '../deploy/usage-plan.js';
import { UserError } from '../errors.js';
import { hashApiKey } from '../lambda/api-keys.js';

/** Set on keys `rotate-key` creates, with the time: tells an interrupted rotation's key from a stray one. */
export const ROTATION_TAG = 'chatbot-ops:rotation-started';

export interface RotationStatus {
  /** The key clients should use: the newest enabled key on the plan, or a new key not yet attached. */
  current: ApiKeyDetail | undefined;
  /** A key a previous `rotate-key` created but did not get to attach. */
  pending: ApiKeyDetail | undefined;
  /** Enabled keys on the plan. */
  attached: ApiKeyDetail[];
  /** Keys with the name that are older than the current one: what `--finish` retires. */
  older: ApiKeyDetail[];
}

/** Where a rotation stands. `keys` oldest first (as listApiKeysNamed returns them). Pure. */
export function rotationStatus(keys: readonly ApiKeyDetail[], onPlan: ReadonlySet<string>): RotationStatus {
  const attached = keys.filter((k) => k.enabled && onPlan.has(k.id));
  const newestAttached = attached.at(-1);
  const after = newestAttached ? keys.slice(keys.indexOf(newestAttached) + 1) : [...keys];
  const pending = after
    .filter((k) => k.enabled && !onPlan.has(k.id) && k.tags[ROTATION_TAG] !== undefined)
    .at(-1);
  const current = pending ?? newestAttached;
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

interface Deployment {
  aws: AwsClients;
  fn: FunctionState;
  planId: string;
  planName: string;
  keys: ApiKeyDetail[];
  onPlan: Set<string>;
}

async function readDeployment(ctx: Context): Promise<Deployment> {
  const config = ctx.config();
  const aws = ctx.aws();
  const [fn, plans, keys] = await Promise.all([
    findFunction(aws.lambda, config.function.name),
    findUsagePlansByName(aws.apigateway, config.usagePlan.name),
    listApiKeysNamed(aws.apigateway, config.usagePlan.keyName),
  ]);
  if (!fn) {
    throw new UserError(`no Lambda function named ${config.function.name}`, {
      hint: 'Deploy first: `chatbot-ops deploy`.',
    });
  }
  const plan = plans[0];
  if (!plan) {
    throw new UserError(`no usage plan named ${config.usagePlan.name}`, {
      hint: 'Create it first: `chatbot-ops create-usage-plan`.',
    });
  }
  const onPlan = new Set((await listUsagePlanKeys(aws.apigateway, plan.id)).map((k) => k.id));
  return { aws, fn, planId: plan.id, planName: plan.name, keys, onPlan };
}

/** Write API_KEYS when it changes; waits until the function is ready before and after (src/aws/lambda.ts). */
async function setApiKeys(d: Deployment, next: string): Promise<boolean> {
  if ((d.fn.environment.API_KEYS ?? '') === next) return false;
  await updateFunctionConfiguration(
    d.aws.lambda,
    d.fn.name,
    { environment: { ...d.fn.environment, API_KEYS: next } },
    deployTiming(),
  );
  return true;
}

const utcStamp = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

async function startRotation(ctx: Context, showKey: boolean): Promise<number> {
  const config = ctx.config();
  const ui = ctx.ui;
  const d = await readDeployment(ctx);
  const status = rotationStatus(d.keys, d.onPlan);
  if (!status.current) {
    throw new UserError(
      `no enabled key named ${config.usagePlan.keyName} is on the usage plan ${d.planName}: there is nothing to rotate`,
      {
        hint: 'Create the first key with `chatbot-ops create-usage-plan`.',
      },
    );
  }
  let newKey: ApiKeyDetail;
  let created = false;
  if (status.pending) {
    newKey = status.pending;
    ui.info(
      `Resuming the rotation started ${newKey.tags[ROTATION_TAG]}: key ${newKey.id} exists but is not on the plan yet.`,
    );
  } else if (status.attached.length >= 2) {
    newKey = status.current;
    ui.info(
      `A rotation is already in progress: ${status.attached.length} keys are on the plan; the new one is ${newKey.id}.`,
    );
  } else {
    const value = generateApiKeyValue();
    const spinner = ui.spinner('creating the new API key');
    const id = await createApiKey(d.aws.apigateway, {
      name: config.usagePlan.keyName,
      value,
      tags: { ...config.tags, [ROTATION_TAG]: utcStamp(new Date()) },
    });
    spinner.succeed(`created key ${config.usagePlan.keyName} (${id})`);
    newKey = { id, name: config.usagePlan.keyName, enabled: true, createdDate: new Date(), tags: {}, value };
    created = true;
  }
  if (!newKey.value) throw new UserError(`API Gateway returned no value for key ${newKey.id}`);
  // Every key on the plan keeps working: the function must accept all of them and the new one.
  const values = [...status.attached, newKey].flatMap((k) => (k.value ? [k.value] : []));
  const spinner = ui.spinner("adding the new key's hash to the function's API_KEYS");
  const updated = await setApiKeys(d, editApiKeys(d.fn.environment.API_KEYS, values, []));
  spinner.succeed(
    updated
      ? 'API_KEYS accepts the old and the new key (function updated)'
      : 'API_KEYS already accepts both keys',
  );
  if (!d.onPlan.has(newKey.id)) {
    const attach = ui.spinner(`attaching the new key to ${d.planName}`);
    await addUsagePlanKey(d.aws.apigateway, d.planId, newKey.id);
    attach.succeed(`new key on the usage plan ${d.planName}`);
  }
  const oldIds = status.attached.filter((k) => k.id !== newKey.id).map((k) => k.id);
  const reveal = created || showKey;
  ui.result({
    stage: created ? 'started' : 'in-progress',
    newKeyId: newKey.id,
    oldKeyIds: oldIds,
    ...(reveal ? { apiKey: newKey.value } : {}),
  });
  if (reveal) {
    ui.info('');
    ui.info(
      `${ui.style.bold('New API key')}${created ? ' (shown once, store it now)' : ''}: ${newKey.value}`,
    );
  } else {
    ui.info(`Show the new key with \`chatbot-ops rotate-key --show-key\`.`);
  }
  ui.info(
    `Both keys work now. Move the chatbot to the new key, then run \`chatbot-ops rotate-key --finish\`.`,
  );
  return 0;
}

async function finishRotation(ctx: Context): Promise<number> {
  const ui = ctx.ui;
  const d = await readDeployment(ctx);
  const status = rotationStatus(d.keys, d.onPlan);
  if (status.pending) {
    throw new UserError(
      `the new key ${status.pending.id} is not on the usage plan yet: finishing now would leave no working key`,
      {
        hint: 'Run `chatbot-ops rotate-key` again to complete the first stage, then `--finish`.',
      },
    );
  }
  const current = status.current;
  if (!current?.value) {
    throw new UserError(
      `no enabled key named ${ctx.config().usagePlan.keyName} is on the usage plan ${d.planName}`,
      {
        hint: 'Nothing can be retired without a working key: run `chatbot-ops create-usage-plan`.',
      },
    );
  }
  if (status.older.length === 0) {
    ui.result({ stage: 'finished', currentKeyId: current.id, retiredKeyIds: [] });
    ui.info(`Nothing to finish: ${current.id} is the only key named ${current.name}.`);
    return 0;
  }
  // Order: off the plan first (API Gateway refuses the old key at once), then out of API_KEYS,
  // then deleted; each step is skipped when already done, so a re-run converges.
  for (const old of status.older) {
    if (d.onPlan.has(old.id)) {
      const s = ui.spinner(`detaching key ${old.id} from ${d.planName}`);
      await removeUsagePlanKey(d.aws.apigateway, d.planId, old.id);
      s.succeed(`key ${old.id} detached from the usage plan`);
    }
  }
  const spinner = ui.spinner("removing the old keys' hashes from API_KEYS");
  const next = editApiKeys(
    d.fn.environment.API_KEYS,
    [current.value],
    status.older.flatMap((k) => (k.value ? [k.value] : [])),
  );
  const updated = await setApiKeys(d, next);
  spinner.succeed(
    updated
      ? 'API_KEYS accepts only the new key (function updated)'
      : 'API_KEYS already accepts only the new key',
  );
  for (const old of status.older) {
    const s = ui.spinner(`deleting key ${old.id}`);
    await deleteApiKey(d.aws.apigateway, old.id);
    s.succeed(`key ${old.id} deleted`);
  }
  ui.result({ stage: 'finished', currentKeyId: current.id, retiredKeyIds: status.older.map((k) => k.id) });
  ui.info(`Rotation finished: only key ${current.id} works.`);
  return 0;
}

export const register: CommandModule = (program, run) => {
  program
    .command('rotate-key')
    .description('new API key beside the old one (both accepted); --finish retires the old one')
    .option('--finish', 'retire the old key: off the usage plan, out of API_KEYS, deleted', false)
    .option('--show-key', 'print the new key again while a rotation is in progress', false)
    .action(
      run(async (ctx, flags: { finish?: boolean; showKey?: boolean }) =>
        flags.finish ? finishRotation(ctx) : startRotation(ctx, Boolean(flags.showKey)),
      ),
    );
};
