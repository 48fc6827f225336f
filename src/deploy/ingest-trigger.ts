/**
 * What makes a new log in the bucket reach the ingest function: the function's resource policy lets
 * S3 invoke it for this bucket only (SourceArn, the bucket's ARN) and this account only
 * (SourceAccount: a bucket ARN names no account, and a bucket of that name could later belong to
 * another); then the bucket notifies the function of `s3:ObjectCreated:*` under `ingest.prefix`,
 * one rule per suffix in `ingest.suffixes` (S3 takes one prefix and one suffix per rule).
 *
 * S3 has no call for one notification rule: the bucket's whole configuration is read, ours replaced
 * (rules whose id starts with `chatbot-ops-ingest`), everything else kept as it was. S3 checks the
 * permission when the configuration is put, so the permission comes first.
 */
import {
  addInvokePermission,
  listPermissionStatements,
  type PolicyStatement,
  removePermission,
} from '../aws/lambda.js';
import {
  getNotifications,
  type LambdaFunctionConfiguration,
  type NotificationConfiguration,
  putNotifications,
} from '../aws/s3-bucket.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { type IngestNames, ingestNames, readIngestNames } from './ingest-names.js';
import { readLogsBucket } from './logs-bucket.js';
import { createOrUpdate, item, type PlanItem } from './plan.js';
import { defineStep } from './step.js';

const STEP = 'ingest-trigger';
export const S3_STATEMENT_ID = 'chatbot-ops-s3-invoke';
const RULE_ID = 'chatbot-ops-ingest';

export interface TriggerDesired {
  names: IngestNames;
  permission: { sourceArn: string; sourceAccount: string };
  /** Our notification rules. */
  rules: LambdaFunctionConfiguration[];
}

export interface TriggerCurrent {
  /** The S3 statement of the function's resource policy. */
  permission: PolicyStatement | undefined;
  /** The bucket's whole notification configuration; undefined while the bucket does not exist. */
  notifications: NotificationConfiguration | undefined;
}

/** Our rules: ObjectCreated under the prefix, one per suffix (or one for any key). */
export function notificationRules(config: ChatbotConfig, functionArn: string): LambdaFunctionConfiguration[] {
  const { prefix, suffixes } = config.ingest;
  const filter = (suffix: string | undefined) => ({
    Key: {
      FilterRules: [
        ...(prefix ? [{ Name: 'prefix' as const, Value: prefix }] : []),
        ...(suffix ? [{ Name: 'suffix' as const, Value: suffix }] : []),
      ],
    },
  });
  const rule = (id: string, suffix: string | undefined): LambdaFunctionConfiguration => ({
    Id: id,
    LambdaFunctionArn: functionArn,
    Events: ['s3:ObjectCreated:*'],
    ...(prefix || suffix ? { Filter: filter(suffix) } : {}),
  });
  return suffixes.length === 0
    ? [rule(RULE_ID, undefined)]
    : suffixes.map((s, i) => rule(`${RULE_ID}-${i + 1}`, s));
}

export function desiredTrigger(config: ChatbotConfig, names: IngestNames): TriggerDesired {
  return {
    names,
    permission: { sourceArn: names.bucketArn, sourceAccount: names.account },
    rules: notificationRules(config, names.functionArn),
  };
}

const isOurs = (c: LambdaFunctionConfiguration) => c.Id?.startsWith(RULE_ID) === true;

/** The rules as compared: S3 may spell filter names in capitals and order the rules its own way. */
const ruleView = (c: LambdaFunctionConfiguration) =>
  JSON.stringify({
    id: c.Id,
    arn: c.LambdaFunctionArn,
    events: [...(c.Events ?? [])].sort(),
    filter: (c.Filter?.Key?.FilterRules ?? [])
      .map((r) => `${String(r.Name).toLowerCase()}=${r.Value}`)
      .sort(),
  });

/** Ours among the bucket's rules. */
export function ourRules(
  notifications: NotificationConfiguration | undefined,
): LambdaFunctionConfiguration[] {
  return (notifications?.LambdaFunctionConfigurations ?? []).filter(isOurs);
}

/** The bucket's configuration with ours replaced by `rules` (none: ours removed). */
export function withOurRules(
  notifications: NotificationConfiguration | undefined,
  rules: LambdaFunctionConfiguration[],
): NotificationConfiguration {
  const theirs = (notifications?.LambdaFunctionConfigurations ?? []).filter((c) => !isOurs(c));
  const lambdas = [...theirs, ...rules];
  const { LambdaFunctionConfigurations: _ours, ...rest } = notifications ?? {};
  return { ...rest, ...(lambdas.length > 0 ? { LambdaFunctionConfigurations: lambdas } : {}) };
}

/** Does the S3 statement allow exactly this bucket and account? */
export function permissionMatches(s: PolicyStatement | undefined, p: TriggerDesired['permission']): boolean {
  return (
    s !== undefined &&
    s.Condition?.ArnLike?.['AWS:SourceArn'] === p.sourceArn &&
    s.Condition?.StringEquals?.['AWS:SourceAccount'] === p.sourceAccount
  );
}

export function readTrigger(d: Deployment, names: IngestNames): Promise<TriggerCurrent> {
  return d.cached('ingest-trigger', async () => {
    const [statements, bucket] = await Promise.all([
      listPermissionStatements(d.aws.lambda, names.functionName),
      readLogsBucket(d, names),
    ]);
    return {
      permission: statements.find((s) => s.Sid === S3_STATEMENT_ID),
      notifications: bucket.presence === 'ours' ? await getNotifications(d.aws.s3, names.bucket) : undefined,
    };
  });
}

const describeRules = (rules: LambdaFunctionConfiguration[]) =>
  rules.map((r) =>
    [
      ...(r.Events ?? []),
      ...(r.Filter?.Key?.FilterRules ?? []).map((f) => `${String(f.Name).toLowerCase()} ${f.Value}`),
    ].join(' '),
  );

export function planTrigger(current: TriggerCurrent, desired: TriggerDesired): PlanItem[] {
  const { names, permission } = desired;
  const have = ourRules(current.notifications);
  const same =
    JSON.stringify(have.map(ruleView).sort()) === JSON.stringify(desired.rules.map(ruleView).sort());
  return [
    createOrUpdate(
      STEP,
      'invoke permission',
      `s3.amazonaws.com → ${names.functionName}`,
      current.permission !== undefined,
      permissionMatches(current.permission, permission)
        ? []
        : [
            {
              field: 'source',
              from: current.permission
                ? `${current.permission.Condition?.ArnLike?.['AWS:SourceArn'] ?? 'any bucket'} in ${current.permission.Condition?.StringEquals?.['AWS:SourceAccount'] ?? 'any account'}`
                : null,
              to: `${permission.sourceArn} in ${permission.sourceAccount}`,
            },
          ],
    ),
    createOrUpdate(
      STEP,
      'bucket notification',
      `${names.bucket} → ${names.functionName}`,
      have.length > 0,
      same
        ? []
        : [
            {
              field: 'rules',
              from: have.length > 0 ? describeRules(have) : null,
              to: describeRules(desired.rules),
            },
          ],
    ),
  ];
}

export const ingestTriggerStep = defineStep({
  name: STEP,
  command: 'create-ingest-trigger',
  title: 'Ingest trigger',
  guideStep: '',
  description:
    "The bucket's ObjectCreated notification to the ingest function (prefix and suffixes from the config), and S3's permission to invoke it",
  needs: ['ingest-function', 'logs-bucket'],
  desired: (ctx) => desiredTrigger(ctx.inputs.config, ingestNames(ctx.inputs.config, ctx.session)),
  read: (d, desired) =>
    d.config.ingest.enabled
      ? readTrigger(d, desired.names)
      : Promise.resolve({ permission: undefined, notifications: undefined }),
  plan: (current, desired, ctx) => (ctx.inputs.config.ingest.enabled ? planTrigger(current, desired) : []),
  async apply(env, current, desired, items) {
    const { names, permission } = desired;
    if (items.some((i) => i.kind === 'invoke permission' && i.action !== 'unchanged')) {
      // A statement id cannot be overwritten: the old statement goes first.
      if (current.permission) await removePermission(env.aws.lambda, names.functionName, S3_STATEMENT_ID);
      await addInvokePermission(env.aws.lambda, {
        functionName: names.functionName,
        statementId: S3_STATEMENT_ID,
        principal: 's3.amazonaws.com',
        ...permission,
      });
    }
    if (items.some((i) => i.kind === 'bucket notification' && i.action !== 'unchanged')) {
      // Read again if the bucket was made in this run: a new bucket notifies nothing yet.
      const notifications = current.notifications ?? (await getNotifications(env.aws.s3, names.bucket));
      await putNotifications(env.aws.s3, names.bucket, withOurRules(notifications, desired.rules));
    }
    return undefined;
  },
  destroy: {
    read: async (d) => {
      const names = await readIngestNames(d);
      return { names, ...(await readTrigger(d, names)) };
    },
    plan(found) {
      return [
        ...(ourRules(found.notifications).length > 0
          ? [
              item(
                STEP,
                'bucket notification',
                `${found.names.bucket} → ${found.names.functionName}`,
                'delete',
              ),
            ]
          : []),
        ...(found.permission
          ? [item(STEP, 'invoke permission', `s3.amazonaws.com → ${found.names.functionName}`, 'delete')]
          : []),
      ];
    },
    async apply(env, found) {
      const n = found.names;
      if (ourRules(found.notifications).length > 0) {
        env.removing(`the notification of S3 bucket ${n.bucket}`);
        await putNotifications(env.aws.s3, n.bucket, withOurRules(found.notifications, []));
      }
      if (found.permission) {
        env.removing(`the S3 invoke permission of ${n.functionName}`);
        await removePermission(env.aws.lambda, n.functionName, S3_STATEMENT_ID);
      }
    },
  },
});
