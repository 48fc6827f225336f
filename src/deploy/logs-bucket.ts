/**
 * The logs bucket the ingest function loads from (docs/ingest.md). A bucket chatbot-ops makes is
 * private: Block Public Access all on, default encryption with S3-managed keys (SSE-S3, the one kind
 * ALB log delivery accepts), a policy refusing requests without TLS, optional expiry of loaded logs
 * (`ingest.expireAfterDays`), an optional statement letting Application Load Balancers deliver
 * their logs (`ingest.albLogDelivery`), tagged as ours. A bucket that already exists without our
 * tag (one named in `ingest.bucket`) is used as it is: its settings are read and warned about,
 * never changed, and destroy never deletes it.
 *
 * destroy deletes our bucket only when it is empty, or with `--delete-data` (then it says how many
 * objects it deleted): logs are data, and a bucket cannot be deleted while it holds any.
 */
import {
  ALL_BLOCKED,
  type BucketPolicy,
  type BucketPolicyStatement,
  type BucketPresence,
  type BucketSettings,
  countObjects,
  createBucket,
  deleteBucket,
  emptyBucket,
  findBucket,
  type LifecycleRule,
  putBucketPolicy,
  putBucketTags,
  putDefaultEncryption,
  putLifecycle,
  putPublicAccessBlock,
  readBucketSettings,
} from '../aws/s3-bucket.js';
import type { AwsSession } from '../aws/sts.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import { type IngestNames, ingestNames, PURPOSE_TAG, readIngestNames } from './ingest-names.js';
import { type FieldChange, item, type PlanItem } from './plan.js';
import { defineStep } from './step.js';

const PURPOSE = 'ingest-logs';
/** Statements and lifecycle rules chatbot-ops owns carry these; the bucket's other ones are kept. */
const SID_PREFIX = 'ChatbotOps';
const RULE_PREFIX = 'chatbot-ops-';
/** How many objects destroy counts before it says "more than". */
const COUNT_LIMIT = 10_000;

/**
 * The account Elastic Load Balancing writes access logs from, in the regions that opened before
 * August 2022 (from the ELB user guide, "Enable access logs"); newer regions deliver as the service
 * principal logdelivery.elasticloadbalancing.amazonaws.com instead.
 */
const ELB_LOG_ACCOUNTS: Record<string, string> = {
  'us-east-1': '127311923021',
  'us-east-2': '033677994240',
  'us-west-1': '027434742980',
  'us-west-2': '797873946194',
  'af-south-1': '098369216593',
  'ap-east-1': '754344448648',
  'ap-southeast-3': '589379963580',
  'ap-south-1': '718504428378',
  'ap-northeast-3': '383597477331',
  'ap-northeast-2': '600734575887',
  'ap-southeast-1': '114774131450',
  'ap-southeast-2': '783225319266',
  'ap-northeast-1': '582318560864',
  'ca-central-1': '985666609251',
  'eu-central-1': '054676820928',
  'eu-west-1': '156460612806',
  'eu-west-2': '652711504416',
  'eu-south-1': '635631232127',
  'eu-west-3': '009996457667',
  'eu-north-1': '897822967062',
  'me-south-1': '076674570225',
  'sa-east-1': '507241528517',
  'us-gov-west-1': '048591011584',
  'us-gov-east-1': '190560391635',
};

export interface BucketDesired {
  bucket: string;
  bucketArn: string;
  region: string;
  account: string;
  /** Our rules only (the bucket's others are kept). */
  lifecycle: LifecycleRule[];
  /** Our statements only (the bucket's others are kept). */
  statements: BucketPolicyStatement[];
  tags: Record<string, string>;
  /** What the config asks that only a bucket of ours gets (for the warnings on a bucket of yours). */
  asks: { expireAfterDays: number | undefined; albLogDelivery: boolean };
}

export interface BucketCurrent {
  bucketArn: string;
  presence: BucketPresence;
  /** Read when the bucket is this account's. */
  settings: BucketSettings | undefined;
}

/** The statement that lets ALB deliver access logs under the watched prefix (ALB adds AWSLogs/<account>/). */
export function albDeliveryStatement(
  region: string,
  partition: string,
  bucketArn: string,
  prefix: string,
  account: string,
): BucketPolicyStatement {
  const elbAccount = ELB_LOG_ACCOUNTS[region];
  return {
    Sid: `${SID_PREFIX}AlbLogDelivery`,
    Effect: 'Allow',
    Principal: elbAccount
      ? { AWS: `arn:${partition}:iam::${elbAccount}:root` }
      : { Service: 'logdelivery.elasticloadbalancing.amazonaws.com' },
    Action: 's3:PutObject',
    Resource: `${bucketArn}/${prefix}*AWSLogs/${account}/*`,
  };
}

export function desiredBucket(config: ChatbotConfig, session: AwsSession): BucketDesired {
  const n = ingestNames(config, session);
  const i = config.ingest;
  const days = i.expireAfterDays;
  const expire = (id: string, prefix: string): LifecycleRule => ({
    ID: `${RULE_PREFIX}${id}`,
    Status: 'Enabled',
    Filter: { Prefix: prefix },
    Expiration: { Days: days },
  });
  return {
    bucket: n.bucket,
    bucketArn: n.bucketArn,
    region: session.region,
    account: session.account,
    lifecycle:
      days === undefined ? [] : [expire('expire-logs', i.prefix), expire('expire-results', i.resultsPrefix)],
    statements: [
      {
        Sid: `${SID_PREFIX}DenyInsecureTransport`,
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [n.bucketArn, `${n.bucketArn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      ...(i.albLogDelivery
        ? [albDeliveryStatement(session.region, session.partition, n.bucketArn, i.prefix, session.account)]
        : []),
    ],
    tags: { ...config.tags, [PURPOSE_TAG]: PURPOSE },
    asks: { expireAfterDays: days, albLogDelivery: i.albLogDelivery },
  };
}

/** The bucket as AWS has it: read once per run through the deployment's cache. */
export function readLogsBucket(
  d: Deployment,
  names: Pick<IngestNames, 'bucket' | 'bucketArn' | 'account'>,
): Promise<BucketCurrent> {
  return d.cached(`bucket:${names.bucket}`, async () => {
    const presence = await findBucket(d.aws.s3, names.bucket, names.account);
    return {
      bucketArn: names.bucketArn,
      presence,
      settings: presence === 'ours' ? await readBucketSettings(d.aws.s3, names.bucket) : undefined,
    };
  });
}

/** Is this bucket one chatbot-ops made (and so may change and delete)? */
export const isOurBucket = (current: BucketCurrent): boolean =>
  current.settings?.tags[PURPOSE_TAG] === PURPOSE;

/** Lifecycle rules and policy statements compare on what they say, in a stable form. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );
const ruleView = (r: LifecycleRule) => ({
  ID: r.ID,
  Status: r.Status,
  Prefix: r.Filter?.Prefix ?? r.Prefix ?? '',
  Days: r.Expiration?.Days,
});
const statementView = (s: BucketPolicyStatement) => ({
  ...s,
  Action: [s.Action].flat().sort(),
  Resource: [s.Resource].flat().sort(),
});

/** The whole lifecycle: the bucket's own rules, then ours. */
export function mergedLifecycle(current: LifecycleRule[], ours: LifecycleRule[]): LifecycleRule[] {
  return [...current.filter((r) => !r.ID?.startsWith(RULE_PREFIX)), ...ours];
}

/** The whole policy: the bucket's own statements, then ours; undefined when there is none at all. */
export function mergedPolicy(
  current: BucketPolicy | undefined,
  ours: BucketPolicyStatement[],
): BucketPolicy | undefined {
  const theirs = (current?.Statement ?? []).filter((s) => !String(s.Sid ?? '').startsWith(SID_PREFIX));
  const all = [...theirs, ...ours];
  return all.length === 0 ? undefined : { Version: '2012-10-17', Statement: all };
}

/** What differs on a bucket of ours, field by field. Pure. */
export function bucketChanges(settings: BucketSettings, desired: BucketDesired): FieldChange[] {
  const changes: FieldChange[] = [];
  if (canonical(settings.publicAccessBlock) !== canonical(ALL_BLOCKED))
    changes.push({
      field: 'block public access',
      from: settings.publicAccessBlock ?? 'off',
      to: 'all four settings on',
    });
  if (settings.encryption !== 'AES256')
    changes.push({ field: 'default encryption', from: settings.encryption ?? 'none', to: 'SSE-S3 (AES256)' });
  const ourRules = settings.lifecycle.filter((r) => r.ID?.startsWith(RULE_PREFIX));
  if (canonical(ourRules.map(ruleView)) !== canonical(desired.lifecycle.map(ruleView)))
    changes.push({
      field: 'lifecycle',
      from: ourRules.map(describeRule),
      to: desired.lifecycle.map(describeRule),
    });
  const ourStatements = (settings.policy?.Statement ?? []).filter((s) =>
    String(s.Sid ?? '').startsWith(SID_PREFIX),
  );
  if (canonical(ourStatements.map(statementView)) !== canonical(desired.statements.map(statementView)))
    changes.push({
      field: 'policy',
      from: ourStatements.map((s) => s.Sid),
      to: desired.statements.map((s) => s.Sid),
    });
  if (Object.entries(desired.tags).some(([k, v]) => settings.tags[k] !== v))
    changes.push({ field: 'tags', from: settings.tags, to: { ...settings.tags, ...desired.tags } });
  return changes;
}

const describeRule = (r: LifecycleRule) =>
  `${r.Filter?.Prefix ?? r.Prefix ?? ''}* expires after ${r.Expiration?.Days} days`;

export function planBucket(current: BucketCurrent, desired: BucketDesired): PlanItem[] {
  const kind = 'S3 bucket';
  if (current.presence === 'elsewhere') {
    throw new UserError(
      `the S3 bucket ${desired.bucket} belongs to another account, or is in a region other than ${desired.region}`,
      {
        hint: 'Bucket names are global: set ingest.bucket to a bucket of this account in this region, or to a new name.',
      },
    );
  }
  if (current.presence === 'missing') {
    return [
      item('logs-bucket', kind, desired.bucket, 'create', [
        { field: 'block public access', from: null, to: 'all four settings on' },
        { field: 'default encryption', from: null, to: 'SSE-S3 (AES256)' },
        ...(desired.lifecycle.length > 0
          ? [{ field: 'lifecycle', from: null, to: desired.lifecycle.map(describeRule) }]
          : []),
        { field: 'policy', from: null, to: desired.statements.map((s) => s.Sid) },
      ]),
    ];
  }
  if (!isOurBucket(current))
    return [item('logs-bucket', kind, `${desired.bucket} (yours: used as it is)`, 'unchanged')];
  const changes = bucketChanges(current.settings as BucketSettings, desired);
  return [item('logs-bucket', kind, desired.bucket, changes.length > 0 ? 'update' : 'unchanged', changes)];
}

/** What a bucket of the user's lacks for the ingest path: said, never fixed (it is not ours to change). */
export function bucketWarnings(current: BucketCurrent, desired: BucketDesired): string[] {
  const s = current.settings;
  if (current.presence !== 'ours' || !s || isOurBucket(current)) return [];
  const warnings: string[] = [];
  const name = desired.bucket;
  if (canonical(s.publicAccessBlock) !== canonical(ALL_BLOCKED))
    warnings.push(
      `the bucket ${name} does not block all public access: turn on all four Block Public Access settings (its logs hold client addresses)`,
    );
  if (desired.asks.albLogDelivery && s.encryption !== 'AES256')
    warnings.push(
      `the bucket ${name} encrypts with ${s.encryption ?? 'nothing by default'}: ALB log delivery needs SSE-S3 (AES256) default encryption`,
    );
  if (desired.asks.albLogDelivery)
    warnings.push(
      `ingest.albLogDelivery is not applied to ${name}, a bucket chatbot-ops did not create: add the statement docs/ingest.md shows to its policy`,
    );
  if (desired.asks.expireAfterDays !== undefined)
    warnings.push(
      `ingest.expireAfterDays is not applied to ${name}, a bucket chatbot-ops did not create: add a lifecycle rule yourself if you want expiry`,
    );
  return warnings;
}

export async function applyBucket(
  s3: Deployment['aws']['s3'],
  current: BucketCurrent,
  desired: BucketDesired,
  items: PlanItem[],
): Promise<void> {
  const planned = items[0];
  if (!planned || planned.action === 'unchanged') return;
  const b = desired.bucket;
  const fields = new Set(planned.changes.map((c) => c.field));
  const settings = current.settings;
  if (planned.action === 'create') await createBucket(s3, b, desired.region);
  // Tags first: a run that stops after this leaves a bucket marked ours, which a re-run completes.
  if (planned.action === 'create' || fields.has('tags'))
    await putBucketTags(s3, b, { ...(settings?.tags ?? {}), ...desired.tags });
  if (fields.has('block public access')) await putPublicAccessBlock(s3, b);
  if (fields.has('default encryption')) await putDefaultEncryption(s3, b);
  if (fields.has('lifecycle'))
    await putLifecycle(s3, b, mergedLifecycle(settings?.lifecycle ?? [], desired.lifecycle));
  if (fields.has('policy')) await putBucketPolicy(s3, b, mergedPolicy(settings?.policy, desired.statements));
}

interface BucketRemoval {
  bucket: string;
  presence: BucketPresence;
  ours: boolean;
  objects: { count: number; more: boolean } | undefined;
}

const objectsText = (o: { count: number; more: boolean }) =>
  `${o.more ? 'more than ' : ''}${o.count.toLocaleString('en-US')} object${o.count === 1 && !o.more ? '' : 's'}`;

export const logsBucketStep = defineStep({
  name: 'logs-bucket',
  command: 'create-logs-bucket',
  title: 'S3 logs bucket',
  guideStep: '',
  description:
    'The S3 bucket the ingest function loads logs from: private, encrypted, optional expiry and ALB log delivery',
  provides: {
    ref: 'logsBucketArn',
    kind: 'S3 bucket',
    idIn: (current: BucketCurrent) => (current.presence === 'ours' ? current.bucketArn : undefined),
    // Bucket ARNs follow from the name alone.
    predict: (config, session) => ({ id: ingestNames(config, session).bucketArn }),
  },
  desired: (ctx) => desiredBucket(ctx.inputs.config, ctx.session),
  read: (d, desired) =>
    d.config.ingest.enabled
      ? readLogsBucket(d, desired)
      : Promise.resolve({ bucketArn: desired.bucketArn, presence: 'missing' as const, settings: undefined }),
  plan: (current, desired, ctx) => (ctx.inputs.config.ingest.enabled ? planBucket(current, desired) : []),
  warnings: (current, desired) => bucketWarnings(current, desired),
  async apply(env, current, desired, items) {
    env.progress(`bucket ${desired.bucket}`);
    await applyBucket(env.aws.s3, current, desired, items);
    return desired.bucketArn;
  },
  destroy: {
    options: [
      {
        flags: '--delete-data',
        description:
          "also delete the logs bucket's objects, and then the bucket (without it a bucket holding logs stays)",
      },
    ],
    read: async (d): Promise<BucketRemoval> => {
      const names = await readIngestNames(d);
      const current = await readLogsBucket(d, names);
      const ours = isOurBucket(current);
      return {
        bucket: names.bucket,
        presence: current.presence,
        ours,
        objects: ours ? await countObjects(d.aws.s3, names.bucket, COUNT_LIMIT) : undefined,
      };
    },
    plan(found, _config, flags) {
      if (!found.ours) return [];
      const objects = found.objects ?? { count: 0, more: false };
      if (objects.count === 0) return [item('logs-bucket', 'S3 bucket', found.bucket, 'delete')];
      if (!flags.deleteData)
        return [
          item('logs-bucket', 'S3 bucket', found.bucket, 'unchanged', [
            {
              field: 'kept',
              from: `it holds ${objectsText(objects)}`,
              to: 'destroy --delete-data deletes them and the bucket',
            },
          ]),
        ];
      return [
        item('logs-bucket', 'S3 bucket', found.bucket, 'delete', [
          { field: 'objects', from: objectsText(objects), to: 0 },
        ]),
      ];
    },
    async apply(env, found, _config, flags) {
      if (!found.ours) return;
      const objects = found.objects ?? { count: 0, more: false };
      if (objects.count > 0 && !flags.deleteData) {
        env.report?.(
          `kept the S3 bucket ${found.bucket}: it holds ${objectsText(objects)} (destroy --delete-data deletes them and the bucket)`,
        );
        return;
      }
      env.removing(`the objects of S3 bucket ${found.bucket}`);
      // Counted empty when read: nothing to list again.
      const deleted =
        objects.count === 0
          ? 0
          : await emptyBucket(env.aws.s3, found.bucket, (n) =>
              env.progress(`deleting the objects of ${found.bucket}: ${n.toLocaleString('en-US')} so far`),
            );
      env.removing(`S3 bucket ${found.bucket}`);
      await deleteBucket(env.aws.s3, found.bucket);
      if (deleted > 0)
        env.report?.(
          `deleted ${deleted.toLocaleString('en-US')} object${deleted === 1 ? '' : 's'} from the S3 bucket ${found.bucket}, then the bucket`,
        );
    },
  },
});
