/**
 * The deployment as AWS has it: every resource chatbot-ops manages, found by the names in the config.
 * Each read is lazy (nothing is asked until someone needs it) and cached for the run (asked once
 * however many readers need it). `deploy`'s steps, `status`, `destroy`, the targets of `invoke` and
 * `test`, `rotate-key` and `doctor` all read through it, so two policies live here and nowhere else:
 *
 * - Duplicate names: API Gateway lets two REST APIs or two usage plans share a name. Which one is
 *   ours cannot be known, so every reader refuses with the ids (DuplicateNameError) instead of picking.
 *   API keys are the exception: `rotate-key` gives the new key the old one's name on purpose.
 * - The current API key: the newest enabled key with the configured name that is on the usage plan.
 *   During a rotation that is the new key, the one `rotate-key --finish` keeps.
 * - Ours by tag: what deploy makes carries OWNER_TAGS (the function's and the API's names), so an
 *   alarm or a stage left by a rename is still found as ours, though no name in the config fits it.
 */
import {
  type ApiKeyDetail,
  type DeploymentInfo,
  findRestApisByName,
  findStage,
  findUsagePlansByName,
  getApiKey,
  getDeployment,
  listApiKeysNamed,
  listResources,
  listStages,
  listUsagePlanKeys,
  type ResourceInfo,
  type RestApiInfo,
  type StageInfo,
  type StageState,
  type UsagePlanInfo,
} from '../aws/apigateway.js';
import type { AwsClients } from '../aws/clients.js';
import { type AlarmSpec, findAlarmsWithTags, type TaggedAlarm } from '../aws/cloudwatch.js';
import {
  describeSubnetRouting,
  findSecurityGroup,
  findSecurityGroupsByName,
  listSubnets,
  type SecurityGroupState,
  type SubnetInfo,
  type SubnetRouting,
} from '../aws/ec2.js';
import {
  findRole,
  getInlinePolicy,
  listAttachedPolicyArns,
  type PolicyDocument,
  type RoleState,
} from '../aws/iam.js';
import {
  type FunctionState,
  findFunction,
  listPermissionStatements,
  type PolicyStatement,
} from '../aws/lambda.js';
import { functionLogGroup } from '../aws/log-events.js';
import { findLogGroup, type LogGroupState } from '../aws/logs.js';
import type { ChatbotConfig } from '../config.js';
import { UserError } from '../errors.js';

/** Two or more resources answer to one configured name: the run stops and names them all. */
export class DuplicateNameError extends UserError {
  constructor(kind: string, name: string, ids: string[], configField: string) {
    super(
      `${ids.length} ${kind}s are named ${name} (${ids.join(', ')}): chatbot-ops cannot tell which is yours`,
      {
        hint: `Delete the extra ones (API Gateway allows duplicate names), or set ${configField} in the config to a name of its own.`,
      },
    );
  }
}

/** A read done once: the first caller starts it, later callers share its promise. */
export function memoize<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= read();
    return pending;
  };
}

/** The same, per argument (an inline policy per name). */
function memoizeBy<K, T>(read: (key: K) => Promise<T>): (key: K) => Promise<T> {
  const cache = new Map<K, Promise<T>>();
  return (key) => {
    let pending = cache.get(key);
    if (!pending) {
      pending = read(key);
      cache.set(key, pending);
    }
    return pending;
  };
}

/**
 * The one match of a name, undefined for none, or a DuplicateNameError naming every match: the
 * policy for any resource whose name AWS does not keep unique.
 */
export function theOne<T extends { id: string }>(
  found: T[],
  kind: string,
  name: string,
  field: string,
): T | undefined {
  if (found.length > 1)
    throw new DuplicateNameError(
      kind,
      name,
      found.map((f) => f.id),
      field,
    );
  return found[0];
}

/**
 * The current key: the newest enabled key with the configured name that is on the usage plan.
 * `keys` oldest first, as listApiKeysNamed returns them.
 */
export function currentKeyOf(
  keys: readonly ApiKeyDetail[],
  onPlan: ReadonlySet<string>,
): ApiKeyDetail | undefined {
  return keys.filter((k) => k.enabled && onPlan.has(k.id)).at(-1);
}

/**
 * The current key for `--show-key` (status, deploy --dry-run): the line to print (holding the value:
 * print it only when asked) and the value, or why there is none yet.
 */
export async function currentKeyReport(d: {
  currentKey(): Promise<ApiKeyDetail | undefined>;
  config: ChatbotConfig;
}): Promise<{ line: string; value?: string }> {
  const key = await d.currentKey();
  if (key?.value) return { line: `API key (${key.name}, ${key.id}): ${key.value}`, value: key.value };
  return {
    line: `No API key named ${d.config.usagePlan.keyName} is on the usage plan yet: \`chatbot-ops deploy\` creates one (\`deploy --show-key\` prints it).`,
  };
}

/** Names of the alarms deploy puts (and destroy removes). */
export function alarmNames(config: ChatbotConfig): { lambdaErrors: string; api4xx: string; api5xx: string } {
  return {
    lambdaErrors: `${config.function.name}-errors`,
    api4xx: `${config.api.name}-${config.api.stage}-4xx`,
    api5xx: `${config.api.name}-${config.api.stage}-5xx`,
  };
}

/** Tag keys that say which deployment made a resource: its function's and its API's names. */
export const OWNER_TAGS = { function: 'chatbot-ops:function', api: 'chatbot-ops:api' } as const;

/** The tags deploy puts on what it makes: the config's tags and the owner tags. */
export function ownerTags(config: ChatbotConfig): Record<string, string> {
  return { ...config.tags, [OWNER_TAGS.function]: config.function.name, [OWNER_TAGS.api]: config.api.name };
}

/**
 * Whether tags mark a resource as this deployment's. Either name is enough: a rename changes one of
 * them at a time (renaming both at once leaves the old resources to remove by hand).
 */
export function ownedBy(tags: Readonly<Record<string, string>>, config: ChatbotConfig): boolean {
  return tags[OWNER_TAGS.function] === config.function.name || tags[OWNER_TAGS.api] === config.api.name;
}

/**
 * The Lambda security group among those with its name. With vpc.vpcId (deploy needs it) there is
 * one at most; without it (destroy in a folder with no config) each VPC may have one, and the owner
 * tags pick ours; two that both look ours are refused with their ids.
 */
function lambdaGroupOf(groups: SecurityGroupState[], config: ChatbotConfig): SecurityGroupState | undefined {
  if (groups.length <= 1) return groups[0];
  const ours = groups.filter((g) => ownedBy(g.tags, config));
  if (ours.length === 1) return ours[0];
  const candidates = ours.length > 0 ? ours : groups;
  throw new UserError(
    `${candidates.length} security groups are named ${config.vpc.lambdaSecurityGroupName} (${candidates.map((g) => `${g.id} in ${g.vpcId}`).join(', ')}): chatbot-ops cannot tell which is yours`,
    { hint: 'Set vpc.vpcId in the config (or run where the config is, or pass --config FILE).' },
  );
}

/** The metrics deploy's alarms watch: an alarm on another metric is never taken for ours. */
const ALARM_METRICS = new Set(['AWS/Lambda Errors', 'AWS/ApiGateway 4XXError', 'AWS/ApiGateway 5XXError']);
/** Every description deploy writes ends so (src/deploy/alarms.ts). */
const ALARM_DESCRIPTION_MARK = '(chatbot-ops)';

export type Deployment = ReturnType<typeof openDeployment>;

/** The deployment the config names, in this account and region. Nothing is read until asked. */
export function openDeployment(aws: AwsClients, config: ChatbotConfig) {
  const subnetIds = [...config.vpc.subnetIds].sort();
  const role = memoize((): Promise<RoleState | undefined> => findRole(aws.iam, config.function.role));
  const fn = memoize(
    (): Promise<FunctionState | undefined> => findFunction(aws.lambda, config.function.name),
  );

  const restApis = memoize((): Promise<RestApiInfo[]> => findRestApisByName(aws.apigateway, config.api.name));
  const restApi = memoize(
    async (): Promise<RestApiInfo | undefined> =>
      theOne(await restApis(), 'REST API', config.api.name, 'api.name'),
  );
  const stage = memoize(async (): Promise<StageState | undefined> => {
    const api = await restApi();
    return api ? findStage(aws.apigateway, api.id, config.api.stage) : undefined;
  });

  const usagePlans = memoize(
    (): Promise<UsagePlanInfo[]> => findUsagePlansByName(aws.apigateway, config.usagePlan.name),
  );
  const usagePlan = memoize(
    async (): Promise<UsagePlanInfo | undefined> =>
      theOne(await usagePlans(), 'usage plan', config.usagePlan.name, 'usagePlan.name'),
  );
  const apiKeys = memoize(
    (): Promise<ApiKeyDetail[]> => listApiKeysNamed(aws.apigateway, config.usagePlan.keyName),
  );
  const planKeyIds = memoize(async (): Promise<Set<string>> => {
    const plan = await usagePlan();
    return new Set(plan ? (await listUsagePlanKeys(aws.apigateway, plan.id)).map((k) => k.id) : []);
  });

  const more = new Map<string, Promise<unknown>>();
  const currentKey = memoize(
    async (): Promise<ApiKeyDetail | undefined> => currentKeyOf(await apiKeys(), await planKeyIds()),
  );

  return {
    config,
    aws,

    /**
     * A read this model does not have yet (a resource a new step manages), cached under `key` for
     * the run like the others: the step exports one function that calls this, and the step's
     * read, its removal and doctor all use that function.
     */
    cached<T>(key: string, read: () => Promise<T>): Promise<T> {
      if (!more.has(key)) more.set(key, read());
      // Every read under one key comes from the one function that owns the key, so T is the same.
      return more.get(key) as Promise<T>;
    },

    role,
    roleManagedPolicies: memoize(
      async (): Promise<string[]> =>
        (await role()) ? listAttachedPolicyArns(aws.iam, config.function.role) : [],
    ),
    roleInlinePolicy: memoizeBy(
      async (name: string): Promise<PolicyDocument | undefined> =>
        (await role()) ? getInlinePolicy(aws.iam, config.function.role, name) : undefined,
    ),

    /** The subnets of the config that exist (unknown ids are left out; the caller names them). */
    subnets: memoize(
      (): Promise<SubnetInfo[]> =>
        subnetIds.length > 0 ? listSubnets(aws.ec2, { subnetIds }) : Promise.resolve([]),
    ),
    /** Where each configured subnet's default route goes (an internet gateway makes it public). */
    subnetRouting: memoize(
      (): Promise<Map<string, SubnetRouting>> =>
        config.vpc.vpcId && subnetIds.length > 0
          ? describeSubnetRouting(aws.ec2, config.vpc.vpcId, subnetIds)
          : Promise.resolve(new Map()),
    ),
    lambdaSecurityGroup: memoize(
      async (): Promise<SecurityGroupState | undefined> =>
        lambdaGroupOf(
          await findSecurityGroupsByName(aws.ec2, config.vpc.vpcId, config.vpc.lambdaSecurityGroupName),
          config,
        ),
    ),
    rdsSecurityGroup: memoize(async (): Promise<SecurityGroupState | undefined> => {
      const id = config.vpc.rdsSecurityGroupId;
      return id ? findSecurityGroup(aws.ec2, id) : undefined;
    }),

    function: fn,
    /** The statements of the function's resource policy (API Gateway's invoke permission). */
    functionPermissions: memoize(
      (): Promise<PolicyStatement[]> => listPermissionStatements(aws.lambda, config.function.name),
    ),
    logGroup: memoize(
      (): Promise<LogGroupState | undefined> =>
        findLogGroup(aws.logs, functionLogGroup(config.function.name)),
    ),

    /** Every REST API with the configured name: for a report that shows the duplicates. */
    restApis,
    /** The REST API, undefined when there is none; DuplicateNameError when several share the name. */
    restApi,
    resources: memoize(async (): Promise<ResourceInfo[]> => {
      const api = await restApi();
      return api ? listResources(aws.apigateway, api.id) : [];
    }),
    stage,
    /** Every stage of the API, with its tags (deploy's stage, and any left by a rename). */
    stages: memoize(async (): Promise<StageInfo[]> => {
      const api = await restApi();
      return api ? listStages(aws.apigateway, api.id) : [];
    }),
    /** What the stage's deployment serves; undefined without a stage (or a deployment gone). */
    stageDeployment: memoize(async (): Promise<DeploymentInfo | undefined> => {
      const [api, s] = await Promise.all([restApi(), stage()]);
      return api && s ? getDeployment(aws.apigateway, api.id, s.deploymentId) : undefined;
    }),

    /** Every usage plan with the configured name: for a report that shows the duplicates. */
    usagePlans,
    /** The usage plan, undefined when there is none; DuplicateNameError when several share the name. */
    usagePlan,
    /** The keys with the configured name, oldest first, with their values (secrets: never print them). */
    apiKeys,
    /** Ids of the keys on the usage plan (none without a plan). */
    planKeyIds,
    /** Every key on the plan, whatever its name, with its value. */
    planKeys: memoize(async (): Promise<ApiKeyDetail[]> => {
      const [named, onPlan] = await Promise.all([apiKeys(), planKeyIds()]);
      const keys = await Promise.all(
        [...onPlan].map(async (id) => {
          const known = named.find((k) => k.id === id);
          if (known) return known;
          const other = await getApiKey(aws.apigateway, id);
          return other ? { ...other, createdDate: undefined, tags: {} } : undefined;
        }),
      );
      return keys.filter((k): k is ApiKeyDetail => k !== undefined);
    }),
    /** The key callers use: see the policy at the top of this file. */
    currentKey,
    /**
     * The key deploy keeps on the plan: the current key; while the plan has none, the newest key
     * with the name (one a run made and stopped before attaching), so a re-run never makes a second.
     */
    deployedKey: memoize(
      async (): Promise<ApiKeyDetail | undefined> => (await currentKey()) ?? (await apiKeys()).at(-1),
    ),

    /**
     * The alarms that are ours, by name: those with today's names, and those tagged as this
     * deployment's under another name (left by a rename). Each with its tags and ARN.
     */
    alarms: memoize(async (): Promise<Map<string, TaggedAlarm>> => {
      const names = new Set(Object.values(alarmNames(config)));
      const found = await findAlarmsWithTags(
        aws.cloudwatch,
        (a: AlarmSpec) =>
          names.has(a.name) ||
          (ALARM_METRICS.has(`${a.namespace} ${a.metricName}`) &&
            a.description.endsWith(ALARM_DESCRIPTION_MARK)),
      );
      return new Map([...found].filter(([name, a]) => names.has(name) || ownedBy(a.tags, config)));
    }),
  };
}
