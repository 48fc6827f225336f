/**
 * chatbot-ops.config.json: every field optional, with defaults that rebuild the manual deployment
 * (function chatbot-backend, role ChatbotLambdaRole, 256 MB, 30 s...; the table in docs/deploy.md).
 * Secrets never live here: the database password comes from the environment variable the
 * config names (`database.passwordEnv`, default DB_PASSWORD) or from Secrets Manager.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { UserError } from './errors.js';
import { databaseHostProblem } from './lambda/settings.js';

export interface ChatbotConfig {
  region?: string;
  function: {
    name: string;
    role: string;
    runtime: string;
    architecture: 'x86_64' | 'arm64';
    memory: number;
    timeout: number;
    logRetentionDays: number;
    /** Reserved concurrency: at most this many instances at once (each holds a small DB pool). Unset: none reserved. */
    reservedConcurrency?: number;
  };
  vpc: {
    vpcId?: string;
    subnetIds: string[];
    rdsSecurityGroupId?: string;
    lambdaSecurityGroupName: string;
    /** Create an interface endpoint for Secrets Manager in the function's subnets (with database.secretArn). */
    secretsManagerEndpoint: boolean;
  };
  database: {
    host?: string;
    port: number;
    name: string;
    user: string;
    passwordEnv: string;
    secretArn?: string;
    ssl?: boolean;
    /** Keep this many days of access logs: `db prune` without `--older-than` deletes older ones. */
    retentionDays?: number;
  };
  api: {
    name: string;
    resource: string;
    stage: string;
    endpointType: 'REGIONAL' | 'EDGE';
  };
  usagePlan: {
    name: string;
    keyName: string;
    rateLimit: number;
    burstLimit: number;
    quotaLimit: number;
    quotaPeriod: 'DAY' | 'WEEK' | 'MONTH';
  };
  alarms: {
    enabled: boolean;
    lambdaErrorsThreshold: number;
    api4xxThreshold: number;
    /** API Gateway 5XXError: the backend's 503 (database down) and 504 (query timeout) answers. */
    api5xxThreshold: number;
    periodSeconds: number;
    snsTopicArn?: string;
  };
  limits: {
    maxPayloadSize: number;
    maxQueryLimit: number;
    queryTimeoutMs: number;
  };
  /** X-Ray active tracing on the function and the API stage. */
  tracing: { enabled: boolean };
  /** A CloudWatch dashboard of the function's and the API's metrics. */
  dashboard: { enabled: boolean; name?: string };
  /** A regional WAF web ACL on the API stage: a rate limit per address and AWS's common rule set. */
  waf: { enabled: boolean; name?: string; rateLimit: number };
  /** The stage's access logs, as JSON, in their own log group. */
  accessLogs: { enabled: boolean; logGroupName?: string; retentionDays: number };
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** The site's own host names: get_referrers leaves out referrals from them (the function's SITE_HOSTS). */
  siteHosts: string[];
  tags: Record<string, string>;
  local: {
    port: number;
    rows: number;
  };
  /** The ingest path: a logs bucket whose new objects an ingest function loads (docs: README, "Getting traffic in"). */
  ingest: {
    functionName: string;
    /** The logs bucket; without one, `chatbot-logs-<account>-<region>`. */
    bucket?: string;
    /** Objects under this prefix are loaded (the bucket notification's filter); `db load --remote` uploads here. */
    prefix: string;
    /** Only keys ending in one of these are loaded; empty means any. */
    suffixes: string[];
    /** Where the ingest function writes one JSON result per object; must be outside `prefix`. */
    resultsPrefix: string;
    memory: number;
    timeout: number;
    /** Deploy the ingest path with the rest (false: deploy and status leave it out; destroy still removes it). */
    enabled: boolean;
    /** The ingest function's own IAM role (S3 and the failure queue, which the API function must not have). */
    role: string;
    /** The ingest function's own security group: MySQL to RDS, HTTPS to S3's prefix list. */
    securityGroupName: string;
    /** The SQS queue that receives events the function failed on after Lambda's retries. */
    failureQueue: string;
    /** Delete objects under `prefix` (and their results) this many days after they arrive; unset: keep them. */
    expireAfterDays?: number;
    /** Let Application Load Balancers write their access logs under `prefix` (a bucket policy statement). */
    albLogDelivery: boolean;
    /** The ingest function's own database login (recommended: SELECT, INSERT; no other rights); unset: the API function's. */
    dbUser?: string;
    /** The environment variable holding `dbUser`'s password. */
    dbPasswordEnv: string;
    /** A Secrets Manager secret with the ingest function's login, instead of dbUser and dbPasswordEnv. */
    dbSecretArn?: string;
    /** Alarm when the ingest function has more errors than this in alarms.periodSeconds. */
    errorsThreshold: number;
    /** doctor warns when the newest row is older than this many minutes. */
    maxLagMinutes: number;
  };
}

export const DEFAULT_CONFIG_FILE = 'chatbot-ops.config.json';

export function defaultConfig(): ChatbotConfig {
  return {
    function: {
      name: 'chatbot-backend',
      role: 'ChatbotLambdaRole',
      runtime: 'nodejs22.x',
      architecture: 'x86_64',
      memory: 256,
      timeout: 30,
      logRetentionDays: 30,
    },
    vpc: { subnetIds: [], lambdaSecurityGroupName: 'lambda-chatbot-sg', secretsManagerEndpoint: false },
    database: { port: 3306, name: 'chatbot_db', user: 'app_user', passwordEnv: 'DB_PASSWORD' },
    api: { name: 'chatbot-api', resource: 'chatbot', stage: 'prod', endpointType: 'REGIONAL' },
    usagePlan: {
      name: 'chatbot-usage-plan',
      keyName: 'chatbot-api-key',
      rateLimit: 100,
      burstLimit: 200,
      quotaLimit: 100000,
      quotaPeriod: 'MONTH',
    },
    alarms: {
      enabled: true,
      lambdaErrorsThreshold: 10,
      api4xxThreshold: 50,
      api5xxThreshold: 0,
      periodSeconds: 300,
    },
    limits: { maxPayloadSize: 1048576, maxQueryLimit: 1000, queryTimeoutMs: 25000 },
    tracing: { enabled: false },
    dashboard: { enabled: false },
    waf: { enabled: false, rateLimit: 2000 },
    accessLogs: { enabled: false, retentionDays: 30 },
    logLevel: 'INFO',
    siteHosts: [],
    tags: { 'managed-by': 'chatbot-ops' },
    local: { port: 3000, rows: 20000 },
    ingest: {
      functionName: 'chatbot-ingest',
      prefix: 'logs/',
      suffixes: [],
      resultsPrefix: 'chatbot-ops/results/',
      memory: 256,
      timeout: 900,
      enabled: true,
      role: 'ChatbotIngestRole',
      securityGroupName: 'lambda-chatbot-ingest-sg',
      failureQueue: 'chatbot-ingest-failures',
      albLogDelivery: false,
      dbPasswordEnv: 'INGEST_DB_PASSWORD',
      errorsThreshold: 0,
      maxLagMinutes: 120,
    },
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Check = (value: Json, path: string) => string | undefined;

const isObject = (v: Json): v is { [k: string]: Json } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v, p) =>
  typeof v === 'string' && v.length > 0 ? undefined : `${p} must be a non-empty string`;
const int =
  (min: number, max: number): Check =>
  (v, p) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? undefined
      : `${p} must be a whole number from ${min} to ${max}`;
const oneOf =
  (...values: string[]): Check =>
  (v, p) =>
    typeof v === 'string' && values.includes(v) ? undefined : `${p} must be one of ${values.join(', ')}`;
const bool: Check = (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be true or false`);
const pattern =
  (re: RegExp, what: string): Check =>
  (v, p) =>
    typeof v === 'string' && re.test(v) ? undefined : `${p} must be ${what}`;
const stringList =
  (item: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return `${p} must be a list`;
    for (const [i, x] of v.entries()) {
      const e = item(x, `${p}[${i}]`);
      if (e) return e;
    }
    return undefined;
  };
/** The retention periods CloudWatch Logs accepts, in days. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
const retentionDays: Check = (v, p) =>
  typeof v === 'number' && RETENTION_DAYS.includes(v)
    ? undefined
    : `${p} must be one of ${RETENTION_DAYS.join(', ')}`;
const stringMap: Check = (v, p) => {
  if (!isObject(v)) return `${p} must be an object of strings`;
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') return `${p}.${k} must be a string`;
  return undefined;
};

const uniqueSubnets: Check = (v, p) => {
  const e = stringList(pattern(/^subnet-[0-9a-f]+$/, 'a subnet id such as subnet-0abc123'))(v, p);
  if (e) return e;
  const ids = v as string[];
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
  return repeated.length > 0 ? `${p} lists ${[...new Set(repeated)].join(', ')} more than once` : undefined;
};
const host: Check = (v, p) => {
  if (typeof v !== 'string') return `${p} must be a host name`;
  const problem = databaseHostProblem(v);
  if (!problem) return undefined;
  const split = splitDatabaseEndpoint(v);
  const fix =
    'host' in split
      ? ` (set ${p} to "${split.host}"${split.port !== undefined ? ` and database.port to ${split.port}` : ''})`
      : '';
  return `${p} ${problem}${fix}`;
};
const endpointType: Check = (v, p) =>
  v === 'PRIVATE'
    ? `${p} PRIVATE is not supported: a private API needs an execute-api VPC endpoint and a resource policy, which chatbot-ops does not build; use REGIONAL (the default) or EDGE`
    : oneOf('REGIONAL', 'EDGE')(v, p);

/** The schema: every known field and its check. Unknown fields are errors (typos must not pass silently). */
const SCHEMA: Record<string, Check | Record<string, Check>> = {
  region: pattern(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1'),
  function: {
    name: pattern(/^[A-Za-z0-9_-]{1,64}$/, 'a Lambda function name (letters, digits, - and _, up to 64)'),
    role: pattern(/^[\w+=,.@-]{1,64}$/, 'an IAM role name'),
    runtime: pattern(/^nodejs\d+\.x$/, 'a Node.js Lambda runtime such as nodejs22.x'),
    architecture: oneOf('x86_64', 'arm64'),
    memory: int(128, 10240),
    timeout: int(1, 900),
    logRetentionDays: oneOf(...RETENTION_DAYS.map(String)),
    // Lambda's default regional limit is 1,000 and can be raised; 0 would stop every invocation.
    reservedConcurrency: int(1, 100_000),
  },
  vpc: {
    vpcId: pattern(/^vpc-[0-9a-f]+$/, 'a VPC id such as vpc-0abc123'),
    subnetIds: uniqueSubnets,
    rdsSecurityGroupId: pattern(/^sg-[0-9a-f]+$/, 'a security group id such as sg-0abc123'),
    lambdaSecurityGroupName: str,
    secretsManagerEndpoint: bool,
  },
  database: {
    host,
    port: int(1, 65535),
    name: pattern(/^[A-Za-z0-9_$]{1,64}$/, 'a database name (letters, digits, _ and $)'),
    user: str,
    passwordEnv: pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable'),
    secretArn: pattern(/^arn:aws[\w-]*:secretsmanager:/, 'a Secrets Manager secret ARN'),
    ssl: bool,
    retentionDays: int(1, 36500),
  },
  api: {
    name: str,
    resource: pattern(/^[A-Za-z0-9._-]+$/, 'a path part such as chatbot'),
    stage: pattern(/^[A-Za-z0-9_-]+$/, 'a stage name such as prod'),
    endpointType,
  },
  usagePlan: {
    name: str,
    keyName: str,
    // AWS's default account limits are 10,000 requests/s and a burst of 5,000; with the burst at
    // least the rate (checked below), the rate can be 5,000 at most.
    rateLimit: int(1, 5000),
    burstLimit: int(1, 5000),
    quotaLimit: int(1, 1_000_000_000),
    quotaPeriod: oneOf('DAY', 'WEEK', 'MONTH'),
  },
  alarms: {
    enabled: bool,
    lambdaErrorsThreshold: int(0, 1_000_000),
    api4xxThreshold: int(0, 1_000_000),
    api5xxThreshold: int(0, 1_000_000),
    periodSeconds: int(60, 86400),
    snsTopicArn: pattern(/^arn:aws[\w-]*:sns:/, 'an SNS topic ARN'),
  },
  limits: {
    maxPayloadSize: int(1, 10 * 1024 * 1024),
    maxQueryLimit: int(1, 100000),
    queryTimeoutMs: int(100, 900000),
  },
  tracing: { enabled: bool },
  dashboard: {
    enabled: bool,
    name: pattern(/^[A-Za-z0-9_-]{1,255}$/, 'a dashboard name (letters, digits, - and _)'),
  },
  waf: {
    enabled: bool,
    name: pattern(/^[\w-]{1,128}$/, 'a web ACL name (letters, digits, - and _)'),
    // WAF's rate-based rules count requests per address over 5 minutes, from 10 up.
    rateLimit: int(10, 2_000_000_000),
  },
  accessLogs: {
    enabled: bool,
    logGroupName: pattern(
      /^[\w#/.-]{1,512}$/,
      'a log group name such as /aws/apigateway/chatbot-api/prod/access',
    ),
    retentionDays,
  },
  logLevel: oneOf('DEBUG', 'INFO', 'WARN', 'ERROR'),
  siteHosts: stringList(pattern(/^[A-Za-z0-9.-]{1,253}$/, 'a host name such as www.example.com')),
  tags: stringMap,
  local: { port: int(0, 65535), rows: int(0, 100_000_000) },
  ingest: {
    functionName: pattern(
      /^[A-Za-z0-9_-]{1,64}$/,
      'a Lambda function name (letters, digits, - and _, up to 64)',
    ),
    bucket: pattern(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'an S3 bucket name (3-63 lower-case letters, digits, . and -)',
    ),
    prefix: pattern(/^[^/][^\0]{0,500}\/$|^$/, 'an S3 key prefix ending in / (or empty)'),
    suffixes: stringList(pattern(/^[^/]{1,64}$/, 'a key suffix such as .gz')),
    resultsPrefix: pattern(/^[^/][^\0]{0,500}\/$/, 'an S3 key prefix ending in /'),
    memory: int(128, 10240),
    timeout: int(1, 900),
    enabled: bool,
    role: pattern(/^[\w+=,.@-]{1,64}$/, 'an IAM role name'),
    securityGroupName: str,
    failureQueue: pattern(/^[A-Za-z0-9_-]{1,80}$/, 'an SQS queue name (letters, digits, - and _, up to 80)'),
    expireAfterDays: int(1, 36500),
    albLogDelivery: bool,
    dbUser: str,
    dbPasswordEnv: pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable'),
    dbSecretArn: pattern(/^arn:aws[\w-]*:secretsmanager:/, 'a Secrets Manager secret ARN'),
    errorsThreshold: int(0, 1_000_000),
    maxLagMinutes: int(1, 525_600),
  },
};

/**
 * The ingest function's resources must be its own: sharing a name with the API function's would
 * make two deploy steps fight over one resource (each would remove the other's rules and policies).
 */
function ingestConflicts(config: ChatbotConfig): string[] {
  const i = config.ingest;
  return [
    ...(i.functionName === config.function.name
      ? ['ingest.functionName must differ from function.name']
      : []),
    ...(i.role === config.function.role ? ['ingest.role must differ from function.role'] : []),
    ...(i.securityGroupName === config.vpc.lambdaSecurityGroupName
      ? ['ingest.securityGroupName must differ from vpc.lambdaSecurityGroupName']
      : []),
    ...(i.dbUser !== undefined && i.dbSecretArn !== undefined
      ? ['ingest.dbUser and ingest.dbSecretArn cannot both be set (the secret holds the login)']
      : []),
  ];
}

/** Fields people put in the config that belong elsewhere: the message says where. */
const MISPLACED: Record<string, string> = {
  'database.password':
    'database.password: the password never goes in the config file; put it in the environment variable DB_PASSWORD (database.passwordEnv names another one), or use database.secretArn',
};

/** Edit distance, for "did you mean": small, so only near misses are suggested. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

function unknownField(path: string, known: string[]): string {
  if (MISPLACED[path]) return MISPLACED[path];
  const name = path.split('.').pop() ?? path;
  const prefix = path.includes('.') ? `${path.slice(0, path.lastIndexOf('.'))}.` : '';
  const near = known
    .map((k) => ({ k, d: editDistance(name, k) }))
    .filter(({ k, d }) => d <= Math.max(1, Math.floor(Math.min(k.length, name.length) / 3)))
    .sort((x, y) => x.d - y.d)[0];
  return `unknown field "${path}"${near ? ` (did you mean "${prefix}${near.k}"?)` : ''}`;
}

/**
 * Checks that involve two fields, run on the merged config; one whose fields were already refused
 * on their own is skipped (its message would be about a value that is not there).
 */
const CROSS_CHECKS: { fields: string[]; problem(c: ChatbotConfig): string | undefined }[] = [
  {
    fields: ['usagePlan.burstLimit', 'usagePlan.rateLimit'],
    problem: (c) =>
      c.usagePlan.burstLimit < c.usagePlan.rateLimit
        ? 'usagePlan.burstLimit must be at least usagePlan.rateLimit (API Gateway throttles below the rate otherwise)'
        : undefined,
  },
  {
    fields: ['limits.queryTimeoutMs'],
    problem: (c) =>
      c.limits.queryTimeoutMs >= 29000
        ? 'limits.queryTimeoutMs must be under 29000 (API Gateway ends the integration at 29 s)'
        : undefined,
  },
  {
    fields: ['ingest.resultsPrefix', 'ingest.prefix'],
    // The ingest function writes its results there: inside the watched prefix it would trigger itself.
    problem: (c) =>
      c.ingest.resultsPrefix.startsWith(c.ingest.prefix) || c.ingest.prefix.startsWith(c.ingest.resultsPrefix)
        ? 'ingest.resultsPrefix must lie outside ingest.prefix (and the other way round)'
        : undefined,
  },
  {
    fields: ['function.timeout', 'limits.queryTimeoutMs'],
    problem: (c) =>
      c.function.timeout * 1000 <= c.limits.queryTimeoutMs
        ? `function.timeout (${c.function.timeout} s) must be longer than limits.queryTimeoutMs (${c.limits.queryTimeoutMs} ms): Lambda would end the function ("Task timed out") before a slow query is cut off`
        : undefined,
  },
];

/** Every field the config accepts, as dotted paths (`function.memory`, `region`): the docs' config table lists each. */
export function configFields(): string[] {
  return Object.entries(SCHEMA).flatMap(([key, rule]) =>
    typeof rule === 'function' ? [key] : Object.keys(rule).map((field) => `${key}.${field}`),
  );
}

/** Validate a parsed config document and merge it over the defaults. Throws UserError naming every bad field. */
export function parseConfig(doc: unknown, source = DEFAULT_CONFIG_FILE): ChatbotConfig {
  if (!isObject(doc as Json)) {
    throw new UserError(
      `${source}: the config must be a JSON object (${Array.isArray(doc) ? 'it is a list' : `it is ${doc === null ? 'null' : typeof doc}`})`,
      { hint: 'Start from {} and add the fields you need; docs/deploy.md lists them.', exitCode: 2 },
    );
  }
  const problems: string[] = [];
  const refused = new Set<string>();
  const merged = defaultConfig() as unknown as Record<string, Json>;
  for (const [key, value] of Object.entries(doc as Record<string, Json>)) {
    const rule = SCHEMA[key];
    if (rule === undefined) {
      problems.push(unknownField(key, Object.keys(SCHEMA)));
    } else if (typeof rule === 'function') {
      const e = rule(value, key);
      if (e) {
        problems.push(e);
        refused.add(key);
      } else merged[key] = value;
    } else if (!isObject(value)) {
      problems.push(`${key} must be an object`);
      for (const field of Object.keys(rule)) refused.add(`${key}.${field}`);
    } else {
      const section = { ...(merged[key] as Record<string, Json>) };
      for (const [field, fv] of Object.entries(value)) {
        const check = rule[field];
        const path = `${key}.${field}`;
        if (check === undefined) problems.push(unknownField(path, Object.keys(rule)));
        else {
          // logRetentionDays is numeric in JSON but checked against the allowed list as text.
          const e = check(field === 'logRetentionDays' && typeof fv === 'number' ? String(fv) : fv, path);
          if (e) {
            problems.push(e);
            refused.add(path);
          } else section[field] = fv;
        }
      }
      merged[key] = section;
    }
  }
  const config = merged as unknown as ChatbotConfig;
  for (const check of CROSS_CHECKS) {
    if (check.fields.some((f) => refused.has(f))) continue;
    const problem = check.problem(config);
    if (problem) problems.push(problem);
  }
  // Checked once every field is right on its own: the ingest function's resources must be its own.
  if (problems.length === 0) {
    problems.push(...ingestConflicts(config));
  }
  if (problems.length > 0) {
    throw new UserError(`${source} is not valid:\n  - ${problems.join('\n  - ')}`, {
      hint: "Fix the fields named above; every field is optional and defaults to the deployment guide's value.",
      exitCode: 2,
    });
  }
  return config;
}

/** Line and column (1-based) of a character offset in a text. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/** JSON.parse's complaint with where it is: Node 20 gives an offset only, later versions a line too. */
export function jsonErrorAt(text: string, err: Error): string {
  const m = / in JSON at position (\d+)(?: \(line \d+ column \d+\))?/.exec(err.message);
  const offset = m ? Number(m[1]) : /end of JSON input/.test(err.message) ? text.length : undefined;
  if (offset === undefined) return err.message;
  const { line, column } = lineAndColumn(text, offset);
  return `${err.message.replace(m?.[0] ?? '', '')} at line ${line}, column ${column}`;
}

/**
 * Load the config file. A missing file at the default path gives the defaults; a missing file the
 * user named explicitly is an error.
 */
export function loadConfig(path: string | undefined): {
  config: ChatbotConfig;
  path: string;
  exists: boolean;
} {
  const file = path ?? DEFAULT_CONFIG_FILE;
  if (!existsSync(file)) {
    if (path !== undefined) throw new UserError(`config file ${file} not found`, { exitCode: 2 });
    return { config: defaultConfig(), path: file, exists: false };
  }
  const text = readFileSync(file, 'utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file} is not valid JSON: ${jsonErrorAt(text, err as Error)}`, { exitCode: 2 });
  }
  return { config: parseConfig(doc, file), path: file, exists: true };
}

/**
 * What a pasted database endpoint means: the host name alone and, when it carried one, the port.
 * `mysql://db.example:3306`, `db.example:3306` and `db.example` all give host `db.example`. A user,
 * password or path in it is refused (the password must never be saved).
 */
export function splitDatabaseEndpoint(text: string): { host: string; port?: number } | { problem: string } {
  const t = text.trim();
  let hostPart = t;
  let port: number | undefined;
  if (/^[A-Za-z][A-Za-z0-9+.:-]*:\/\//.test(t)) {
    let url: URL;
    try {
      url = new URL(t.replace(/^jdbc:/i, ''));
    } catch {
      return { problem: 'is not a URL or a host name' };
    }
    if (url.username || url.password)
      return { problem: 'holds a user or password: give the host name only (the password is never saved)' };
    if (url.pathname !== '' && url.pathname !== '/')
      return { problem: 'names a database: give the host name only (database.name holds the database)' };
    hostPart = url.hostname.replace(/^\[(.*)\]$/, '$1');
    port = url.port ? Number(url.port) : undefined;
  } else {
    const m = /^([^:]+):(\d{1,5})$/.exec(t);
    if (m) {
      hostPart = m[1] as string;
      port = Number(m[2]);
    }
  }
  if (port !== undefined && (port < 1 || port > 65535)) return { problem: `port ${port} is out of range` };
  const problem = databaseHostProblem(hostPart);
  if (problem) return { problem };
  return { host: hostPart, ...(port !== undefined ? { port } : {}) };
}

/** Write only the fields that differ from the defaults, so the file stays short and readable. */
export function saveConfig(file: string, config: ChatbotConfig): void {
  const defaults = defaultConfig() as unknown as Record<string, Record<string, unknown> | unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config as unknown as Record<string, unknown>)) {
    const def = defaults[key];
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && key !== 'tags') {
      const section: Record<string, unknown> = {};
      for (const [f, v] of Object.entries(value as Record<string, unknown>)) {
        if (v !== undefined && JSON.stringify(v) !== JSON.stringify((def as Record<string, unknown>)?.[f]))
          section[f] = v;
      }
      if (Object.keys(section).length > 0) out[key] = section;
    } else if (value !== undefined && JSON.stringify(value) !== JSON.stringify(def)) {
      out[key] = value;
    }
  }
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`, { mode: 0o644 });
}
