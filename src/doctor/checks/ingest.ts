/**
 * The ingest path (docs/ingest.md): the ingest function exists and is Active; the bucket notifies it
 * (and S3 may invoke it, for that bucket and account only); the S3 gateway endpoint is on the route
 * table of every subnet it uses, and its security group lets HTTPS out to S3; failed events are
 * kept (failure queue, retries, alarm); recent failures; its database login can write (and is not
 * the API function's); the data is fresh (the newest row against now).
 */
import { describeRule } from '../../aws/ec2.js';
import { parseLogLine } from '../../aws/log-events.js';
import { ingestLogin } from '../../deploy/ingest-function.js';
import { ourRules, permissionMatches, S3_STATEMENT_ID } from '../../deploy/ingest-trigger.js';
import { isOurBucket } from '../../deploy/logs-bucket.js';
import { INGEST_HANDLER } from '../../package/bundle.js';
import type { AwsFacts } from '../aws-facts.js';
import { type Check, fail, pass, warn } from '../engine.js';

const CREATE_INGEST = 'Run `chatbot-ops create-ingest` (or `chatbot-ops deploy`)';
const HOUR_MS = 3_600_000;

const ago = (ms: number): string =>
  ms < HOUR_MS
    ? `${Math.round(ms / 60_000)} min ago`
    : ms < 48 * HOUR_MS
      ? `${(ms / HOUR_MS).toFixed(1)} h ago`
      : `${Math.round(ms / (24 * HOUR_MS))} days ago`;

/** Does one of these egress rules let TCP 443 out to the prefix list (or anywhere)? */
function httpsTo(
  rules: { protocol: string; fromPort?: number; toPort?: number; prefixListId?: string; cidr?: string }[],
  prefixList: string | undefined,
) {
  const covers443 = (r: (typeof rules)[number]) =>
    r.protocol === '-1' || (r.protocol === 'tcp' && (r.fromPort ?? 0) <= 443 && 443 <= (r.toPort ?? 65535));
  const https = rules.filter(covers443);
  if (prefixList && https.some((r) => r.prefixListId === prefixList)) return 'prefix-list';
  if (https.some((r) => r.cidr === '0.0.0.0/0')) return 'anywhere';
  return undefined;
}

export const ingestChecks: Check<AwsFacts>[] = [
  {
    id: 'ingest.function',
    group: 'Ingest',
    title: 'ingest function exists and Active',
    async run(f) {
      const n = await f.ingest.names();
      const fn = await f.ingest.fn();
      if (!fn)
        return fail(
          `no function named ${n.functionName}: logs that reach the bucket are not loaded`,
          `${CREATE_INGEST}; it creates the ingest function beside ${f.config.function.name}.`,
        );
      const seen = `State ${fn.state ?? '?'}, LastUpdateStatus ${fn.lastUpdateStatus ?? '?'}`;
      if (fn.handler !== INGEST_HANDLER)
        return fail(
          `${n.functionName} runs handler ${fn.handler}, not ${INGEST_HANDLER}`,
          `${CREATE_INGEST}: it puts the ingest handler back.`,
        );
      if (fn.state === 'Active' && (fn.lastUpdateStatus ?? 'Successful') === 'Successful')
        return pass(`${fn.arn}: ${seen}`);
      if (fn.state === 'Pending' || fn.lastUpdateStatus === 'InProgress')
        return warn(`${seen}: an update is still being applied`, 'Wait a minute and run doctor again.');
      if (fn.state === 'Inactive')
        return warn(
          `${seen}: idle long enough for Lambda to release its network interfaces`,
          'The next object reactivates it; expect one slow cold start.',
        );
      return fail(
        `${seen}: the function cannot run`,
        `See its StateReason: aws lambda get-function-configuration --function-name ${n.functionName}; then ${CREATE_INGEST}.`,
      );
    },
  },
  {
    id: 'ingest.notification',
    group: 'Ingest',
    title: 'bucket notification targets the ingest function',
    async run(f) {
      const n = await f.ingest.names();
      const bucket = await f.ingest.bucket();
      if (bucket.presence === 'missing')
        return fail(
          `the logs bucket ${n.bucket} does not exist`,
          `${CREATE_INGEST}, or set ingest.bucket to your bucket.`,
        );
      if (bucket.presence === 'elsewhere')
        return fail(
          `the bucket ${n.bucket} belongs to another account or region`,
          'Set ingest.bucket to a bucket of this account in this region.',
        );
      const { permission, notifications } = await f.ingest.trigger();
      const rules = ourRules(notifications).filter((r) => r.LambdaFunctionArn === n.functionArn);
      const created = rules.filter((r) => (r.Events ?? []).some((e) => e.startsWith('s3:ObjectCreated')));
      if (created.length === 0)
        return fail(
          `${n.bucket} does not notify ${n.functionName} of new objects: logs put there stay unloaded`,
          `${CREATE_INGEST}; it adds the notification (prefix ${f.config.ingest.prefix}) and keeps the bucket's others.`,
        );
      if (!permission)
        return fail(
          `${n.functionName} has no permission for S3 to invoke it (${S3_STATEMENT_ID}): every notification is refused`,
          `${CREATE_INGEST}; it adds the permission scoped to the bucket and the account.`,
        );
      if (!permissionMatches(permission, { sourceArn: n.bucketArn, sourceAccount: n.account }))
        return warn(
          `S3's permission to invoke ${n.functionName} is not scoped to ${n.bucketArn} in account ${n.account}`,
          `${CREATE_INGEST}: it replaces the permission with one limited to this bucket (SourceArn) and account (SourceAccount).`,
        );
      const filters = created.map(
        (r) =>
          (r.Filter?.Key?.FilterRules ?? [])
            .map((x) => `${String(x.Name).toLowerCase()} ${x.Value}`)
            .join(' ') || 'every key',
      );
      return pass(
        `${n.bucket}${isOurBucket(bucket) ? '' : ' (yours)'} → ${n.functionName} on ObjectCreated (${filters.join('; ')}); S3 may invoke it for this bucket and account only`,
      );
    },
  },
  {
    id: 'ingest.s3-endpoint',
    group: 'Ingest',
    title: "S3 gateway endpoint on every subnet's route table",
    async run(f) {
      const [routing, endpoints] = await Promise.all([f.ingest.routing(), f.ingest.s3Endpoints()]);
      const live = endpoints.filter((e) => e.state === 'available');
      const covered = (table: string | undefined) =>
        live.find((e) => table && e.routeTableIds.includes(table));
      const missing = [...routing].filter(([, r]) => !covered(r.routeTableId));
      if (missing.length === 0)
        return pass(
          [...routing]
            .map(([subnet, r]) => `${subnet} (${r.routeTableId}) → ${covered(r.routeTableId)?.id}`)
            .join(', '),
        );
      const viaNat = missing.filter(([, r]) => r.nat);
      const list = missing
        .map(([subnet, r]) => `${subnet} (${r.routeTableId ?? 'no route table'})`)
        .join(', ');
      if (viaNat.length === missing.length)
        return warn(
          `${list}: no S3 gateway endpoint; S3 is reached through the NAT gateway (paid per GB)`,
          `${CREATE_INGEST}: it adds the (free) S3 gateway endpoint to these route tables.`,
        );
      return fail(
        `${list}: no S3 gateway endpoint and no NAT route: the ingest function cannot reach S3 and every load times out`,
        `${CREATE_INGEST}: it adds the S3 gateway endpoint to the route tables of the function's subnets.`,
      );
    },
  },
  {
    id: 'ingest.s3-egress',
    group: 'Ingest',
    title: 'security group allows HTTPS out to S3',
    async run(f) {
      const [groups, prefixList] = await Promise.all([f.ingest.groups(), f.ingest.s3PrefixList()]);
      const ids = groups.map((g) => g.id).join(', ') || 'none';
      const rules = groups.flatMap((g) => g.egress);
      const way = httpsTo(rules, prefixList);
      if (way === 'prefix-list') return pass(`${ids}: TCP 443 to ${prefixList} (S3's prefix list)`);
      if (way === 'anywhere') return pass(`${ids}: TCP 443 to 0.0.0.0/0, which includes S3`);
      return fail(
        `no egress rule of ${ids} allows TCP 443 to S3 (${prefixList ?? "S3's prefix list"}); rules: ${rules.map(describeRule).join(', ') || 'none'}`,
        `${CREATE_INGEST}: it adds TCP 443 to S3's managed prefix list to the ingest function's group.`,
      );
    },
  },
  {
    id: 'ingest.failure-destination',
    group: 'Ingest',
    title: 'failed events kept: retries, failure queue, alarm',
    async run(f) {
      const n = await f.ingest.names();
      const [settings, queue, alarms] = await Promise.all([
        f.ingest.asyncSettings(),
        f.ingest.queue(),
        f.config.alarms.enabled ? f.ingest.errorAlarms() : Promise.resolve(undefined),
      ]);
      const problems: string[] = [];
      if (!queue) problems.push(`the queue ${n.queueName} does not exist`);
      if (!settings?.onFailure)
        problems.push('no on-failure destination: an event that fails three times is dropped');
      else if (settings.onFailure !== n.queueArn)
        problems.push(`failed events go to ${settings.onFailure}, not ${n.queueArn}`);
      if (problems.length > 0) return fail(problems.join('; '), `${CREATE_INGEST}.`);
      // Without the alarm failures are still kept, only nobody hears of them: as the other alarms, a warning.
      if (alarms && alarms.length === 0)
        return warn(
          `failed events go to ${n.queueName}, but no alarm watches the Errors of ${n.functionName}`,
          `${CREATE_INGEST}: it adds the alarm (alarms.snsTopicArn to be told).`,
        );
      return pass(
        `${settings?.maximumRetryAttempts} retries, then ${n.queueName}${alarms ? `; alarm ${alarms.map((a) => `${a.name} ${a.state}`).join(', ')}` : ''}`,
      );
    },
  },
  {
    id: 'ingest.recent-failures',
    group: 'Ingest',
    title: 'recent ingest failures',
    async run(f) {
      const n = await f.ingest.names();
      await f.ingest.deployedFn();
      const [queue, events, alarms] = await Promise.all([
        f.ingest.queue(),
        f.ingest.failedLoads(),
        f.config.alarms.enabled ? f.ingest.errorAlarms() : Promise.resolve([]),
      ]);
      const failed = new Map<string, string>();
      for (const e of events) {
        const fields = parseLogLine(e.message).fields ?? {};
        if (typeof fields.object === 'string') failed.set(fields.object, String(fields.error ?? 'failed'));
      }
      const waiting = queue?.messages ?? 0;
      const firing = alarms.filter((a) => a.state === 'ALARM');
      if (waiting === 0 && failed.size === 0 && firing.length === 0)
        return pass(`no failed event in ${n.queueName}, no failed load in the last 24 h`);
      const shown = [...failed].slice(0, 3).map(([object, error]) => `${object}: ${error}`);
      const parts = [
        ...(waiting > 0 ? [`${waiting} failed event${waiting === 1 ? '' : 's'} wait in ${n.queueName}`] : []),
        ...(failed.size > 0
          ? [
              `${failed.size} object${failed.size === 1 ? '' : 's'} failed to load in the last 24 h (${shown.join('; ')}${failed.size > 3 ? '; ...' : ''})`,
            ]
          : []),
        ...firing.map((a) => `${a.name} is in ALARM`),
      ];
      return warn(
        parts.join('; '),
        `See the result documents under ${f.config.ingest.resultsPrefix} and \`chatbot-ops logs\` of ${n.functionName}; fix the cause, then load the objects again with \`chatbot-ops db load --remote --force\` (or re-upload them). The queue's events: aws sqs receive-message --queue-url <its URL>.`,
      );
    },
  },
  {
    id: 'ingest.database-login',
    group: 'Ingest',
    title: 'ingest login can write, and is not the API function’s',
    async run(f) {
      const answer = await f.ingest.grants();
      if ('error' in answer)
        return fail(
          `the ingest function could not read its grants: ${answer.error}`,
          'Check its database settings and network (the checks above), and `chatbot-ops logs` of the ingest function.',
        );
      const g = answer.result;
      const missing = (['access_logs', 'load_history'] as const).filter(
        (t) => !g.tables[t].includes('INSERT') || !g.tables[t].includes('SELECT'),
      );
      if (missing.length > 0)
        return fail(
          `${g.user} may not SELECT and INSERT on ${missing.join(' and ')} in ${g.database}: loads fail`,
          `GRANT SELECT, INSERT, UPDATE ON ${g.database}.* TO the ingest login (UPDATE for the rollup rows a load adds to; DELETE, CREATE, DROP, ALTER, INDEX too for \`db init --remote\`); see docs/ingest.md, "The ingest function's database login".`,
        );
      const rollupsMissing = ['SELECT', 'INSERT', 'UPDATE'].filter(
        (p) => g.tables.rollups?.includes(p) === false,
      );
      if (rollupsMissing.length > 0)
        return fail(
          `${g.user} may not ${rollupsMissing.join(', ').replace(/, (?=[^,]*$)/, ' or ')} on the rollup tables in ${g.database}: a load fails once it adds to a rollup row`,
          `GRANT SELECT, INSERT, UPDATE ON ${g.database}.* TO the ingest login; see docs/ingest.md, "The ingest function's database login".`,
        );
      const api = await f.fn().catch(() => undefined);
      const login = ingestLogin(f.config);
      const apiEnv = api?.environment ?? {};
      const shared =
        !login.own ||
        (login.kind === 'secret' ? apiEnv.DB_SECRET_ARN === login.secretArn : apiEnv.DB_USER === login.user);
      const rights = `${g.user} may ${g.tables.access_logs.join(', ')} on access_logs`;
      if (shared)
        return warn(
          `${rights}, and the API function logs in the same way: the internet-facing function can write too`,
          'Create a writer user for the ingest function (GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX), set ingest.dbUser (or ingest.dbSecretArn), keep the API login SELECT-only, then `chatbot-ops create-ingest`; see docs/ingest.md.',
        );
      return pass(`${rights}; the API function logs in as another user`);
    },
  },
  {
    id: 'ingest.freshness',
    group: 'Ingest',
    title: 'data freshness (newest row against now)',
    async run(f) {
      const answer = await f.ingest.stats();
      if ('error' in answer)
        return fail(
          `the ingest function could not read the table: ${answer.error}`,
          'Create the schema with `chatbot-ops db init --remote`, or see the ingest login check above.',
        );
      const { rows, last } = answer.result;
      const lag = f.config.ingest.maxLagMinutes;
      if (!last || rows === 0)
        return warn(
          'access_logs is empty: nothing has been loaded yet',
          `Load a file with \`chatbot-ops db load --remote FILE\`, or point your load balancer's access logs at s3://${(await f.ingest.names()).bucket}/${f.config.ingest.prefix}.`,
        );
      const age = f.now().getTime() - Date.parse(last);
      if (age > lag * 60_000)
        return warn(
          `the newest row is from ${last} (${ago(age)}), older than ingest.maxLagMinutes (${lag} min)`,
          'Are logs still arriving in the bucket? See the ingest checks above (recent failures, notification) and your log source (ALB access logs enabled, its prefix).',
        );
      return pass(`${rows.toLocaleString('en-US')} rows, the newest from ${last} (${ago(Math.max(0, age))})`);
    },
  },
];
