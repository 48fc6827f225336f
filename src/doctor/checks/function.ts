/**
 * Who we are and the function itself (guide steps 2 and 3; Troubleshooting "Lambda Timeout";
 * Security Checklist "credentials in environment variables", "IAM role follows least privilege").
 */
import { policyStatements, policyValues } from '../../aws/iam.js';
import { HANDLER } from '../../deploy/function.js';
import { ENI_POLICY, GUIDE_VPC_POLICY } from '../../deploy/role.js';
import { readSettings } from '../../lambda/settings.js';
import type { AwsFacts } from '../aws-facts.js';
import { type Check, fail, pass, warn } from '../engine.js';

/** API Gateway ends every integration at 29 s, whatever the function's timeout. */
export const API_GATEWAY_TIMEOUT_MS = 29_000;

/** When Lambda stops accepting updates for a runtime (AWS's published schedule, block-update dates). */
const NODE_RUNTIME_DEPRECATION: Record<string, string> = {
  'nodejs16.x': '2024-06-12',
  'nodejs18.x': '2025-09-01',
  'nodejs20.x': '2026-04-30',
  'nodejs22.x': '2027-04-30',
  'nodejs24.x': '2028-04-30',
};
const ANCIENT_NODE = /^nodejs(\d\.\d+|1[024]\.x)?$/;

const REDEPLOY = 'Run `chatbot-ops create-function` (or `deploy`) to put the configured value back.';

/** Managed policies far beyond a function's needs. */
const BROAD_POLICIES =
  /:policy\/(AdministratorAccess|PowerUserAccess|AWSLambda_FullAccess|CloudWatchLogsFullAccess)$/;
/** Managed policies whose logs permissions cover every log group in the account. */
const LOGS_EVERYWHERE_POLICIES =
  /:policy\/service-role\/(AWSLambdaVPCAccessExecutionRole|AWSLambdaBasicExecutionRole)$/;
/** Managed policies that give Lambda the network-interface permissions a VPC function needs. */
const ENI_POLICIES = /:policy\/service-role\/(AWSLambdaENIManagementAccess|AWSLambdaVPCAccessExecutionRole)$/;

export const functionChecks: Check<AwsFacts>[] = [
  {
    id: 'aws.credentials',
    group: 'Account',
    title: 'AWS credentials and region',
    async run(f) {
      const s = await f.sessionOutcome();
      if ('error' in s) {
        const hint = (s.error as { hint?: string }).hint;
        return fail(
          s.error.message,
          hint ?? 'Configure the AWS CLI (`aws configure` or `aws sso login`) and set AWS_PROFILE.',
        );
      }
      return pass(`account ${s.session.account}, region ${s.session.region}, as ${s.session.callerArn}`);
    },
  },
  {
    id: 'function.exists',
    group: 'Function',
    title: 'function exists',
    async run(f) {
      await f.session();
      const fn = await f.fn();
      if (!fn) {
        return fail(
          `no function named ${f.config.function.name} in ${(await f.session()).region}`,
          'Create it with `chatbot-ops create-function` (guide step 3) or `chatbot-ops deploy`; check --region.',
        );
      }
      return pass(`${fn.arn} (${fn.memory} MB, ${fn.architecture})`);
    },
  },
  {
    id: 'function.state',
    group: 'Function',
    title: 'function Active, last update Successful',
    async run(f) {
      const fn = await f.deployedFn();
      const seen = `State ${fn.state ?? '?'}, LastUpdateStatus ${fn.lastUpdateStatus ?? '?'}`;
      if (
        fn.state === 'Active' &&
        (fn.lastUpdateStatus === 'Successful' || fn.lastUpdateStatus === undefined)
      )
        return pass(seen);
      if (fn.state === 'Pending' || fn.lastUpdateStatus === 'InProgress') {
        return warn(
          `${seen}: an update is still being applied`,
          'Wait a minute (VPC network interfaces take 1-2 minutes) and run doctor again.',
        );
      }
      if (fn.state === 'Inactive') {
        return warn(
          `${seen}: the function was idle long enough for Lambda to release its network interfaces`,
          'The next invocation reactivates it; expect one slow cold start.',
        );
      }
      return fail(
        seen,
        `See the reason with \`aws lambda get-function-configuration --function-name ${fn.name}\` (often the subnets have no free addresses or the role lacks EC2 network permissions), fix it, then \`chatbot-ops create-function\`.`,
      );
    },
  },
  {
    id: 'function.runtime',
    group: 'Function',
    title: 'runtime supported',
    async run(f) {
      const fn = await f.deployedFn();
      const wanted = f.config.function.runtime;
      if (!fn.runtime.startsWith('nodejs')) {
        return fail(
          `runtime ${fn.runtime}: the bundle is JavaScript`,
          `Set the runtime to ${wanted}: ${REDEPLOY}`,
        );
      }
      const cutoff = NODE_RUNTIME_DEPRECATION[fn.runtime];
      const now = f.now();
      if (ANCIENT_NODE.test(fn.runtime) || (cutoff && Date.parse(cutoff) <= now.getTime())) {
        return fail(
          `runtime ${fn.runtime} is deprecated${cutoff ? ` since ${cutoff}` : ''}: Lambda no longer patches it and will block updates`,
          `Set function.runtime to a supported version (${wanted} or newer), then \`chatbot-ops create-function\`.`,
        );
      }
      if (cutoff && Date.parse(cutoff) - now.getTime() < 90 * 86_400_000) {
        return warn(
          `runtime ${fn.runtime} is deprecated on ${cutoff}`,
          'Move to a newer nodejs runtime before then (function.runtime in the config).',
        );
      }
      if (fn.runtime !== wanted) {
        return warn(`runtime ${fn.runtime}, the config says ${wanted}`, REDEPLOY);
      }
      return pass(`${fn.runtime}${cutoff ? ` (supported until ${cutoff})` : ''}`);
    },
  },
  {
    id: 'function.handler',
    group: 'Function',
    title: 'handler',
    async run(f) {
      const fn = await f.deployedFn();
      if (fn.handler !== HANDLER) {
        return fail(
          `handler ${fn.handler}: the package exports ${HANDLER} (every call fails with Runtime.HandlerNotFound)`,
          `Set the handler to ${HANDLER}: ${REDEPLOY}`,
        );
      }
      return pass(HANDLER);
    },
  },
  {
    id: 'function.timeout',
    group: 'Function',
    title: 'timeouts (function, query, API Gateway 29 s)',
    async run(f) {
      const fn = await f.deployedFn();
      const raw = fn.environment.QUERY_TIMEOUT_MS;
      const queryMs = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : 25_000;
      const seen = `function ${fn.timeout} s, QUERY_TIMEOUT_MS ${queryMs}, API Gateway 29 s`;
      if (queryMs >= API_GATEWAY_TIMEOUT_MS) {
        return fail(
          `${seen}: a slow query runs past API Gateway's 29 s limit, so callers get a bare 504 "Endpoint request timed out" instead of QUERY_TIMEOUT`,
          'Set limits.queryTimeoutMs under 29000 (default 25000) and run `chatbot-ops create-function`; then check query performance and the RDS instance size, and look for slow queries with `chatbot-ops logs --filter QUERY_TIMEOUT`.',
        );
      }
      if (fn.timeout * 1000 <= queryMs) {
        return fail(
          `${seen}: Lambda kills the function ("Task timed out") before a slow query is cut off`,
          `Raise function.timeout above ${Math.ceil(queryMs / 1000)} s (30 s is the guide's value) or lower limits.queryTimeoutMs, then \`chatbot-ops create-function\`.`,
        );
      }
      return pass(seen);
    },
  },
  {
    id: 'function.environment',
    group: 'Function',
    title: 'environment variables',
    async run(f) {
      const fn = await f.deployedFn();
      const env = fn.environment;
      const result = readSettings(env);
      if (!result.ok) {
        return fail(
          result.problems.join('; '),
          'Every call answers 500 "backend misconfigured". Set the database settings (database.* in the config, the password in the variable database.passwordEnv names) and run `chatbot-ops create-function`.',
        );
      }
      const notes: string[] = [];
      const keys = (env.API_KEYS ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      const plain = keys.filter((k) => !k.startsWith('sha256:')).length;
      const db = result.settings.db;
      const source =
        db.kind === 'secret'
          ? 'DB_SECRET_ARN set'
          : `DB_HOST ${db.host}, DB_PORT ${db.port}, DB_NAME ${db.database}, DB_USER, DB_PASSWORD set (value hidden)`;
      const seen = `${source}; API_KEYS ${keys.length} entr${keys.length === 1 ? 'y' : 'ies'}; limits ${result.settings.maxPayloadSize}/${result.settings.maxQueryLimit}/${result.settings.queryTimeoutMs}; LOG_LEVEL ${result.settings.logLevel}`;
      if (plain > 0) {
        return warn(
          `${plain} API_KEYS entr${plain === 1 ? 'y is a usable key' : 'ies are usable keys'} in plain text: anyone who can read the function configuration can call the API`,
          'Run `chatbot-ops rotate-key` and then `rotate-key --finish`: the CLI writes only sha256: hashes.',
        );
      }
      if (db.kind === 'env' && db.database !== f.config.database.name) {
        notes.push(`DB_NAME ${db.database} differs from the config's ${f.config.database.name}`);
      }
      const host = f.config.database.host;
      if (db.kind === 'env' && host && (db.host !== host || db.port !== f.config.database.port)) {
        notes.push(
          `DB_HOST ${db.host}:${db.port} differs from the config's ${host}:${f.config.database.port}`,
        );
      }
      notes.push(...result.warnings);
      if (notes.length > 0) return warn(`${seen}; ${notes.join('; ')}`, REDEPLOY);
      return pass(seen);
    },
  },
  {
    id: 'iam.least-privilege',
    group: 'Function',
    title: 'execution role least privilege',
    async run(f) {
      const role = await f.role();
      const name = (arn: string) => arn.split('/').pop() ?? arn;
      const broad: string[] = [];
      for (const arn of role.attached) {
        if (BROAD_POLICIES.test(arn)) broad.push(name(arn));
        // Both also allow logs:CreateLogGroup / CreateLogStream / PutLogEvents on "*".
        else if (LOGS_EVERYWHERE_POLICIES.test(arn))
          broad.push(`${name(arn)} (writes to every log group, so the scoped logs policy restricts nothing)`);
      }
      for (const p of role.inline) {
        for (const s of policyStatements(p.document)) {
          const actions = policyValues(s.Action);
          const resources = policyValues(s.Resource);
          const wildcardAction = actions.some((a) => a === '*' || /^[a-z0-9-]+:\*$/i.test(a));
          const wildcardResource = resources.some(
            (r) => r === '*' || /^arn:aws[\w-]*:logs:\*:\*:\*$/.test(r),
          );
          if (s.Effect === 'Allow' && (wildcardAction || wildcardResource))
            broad.push(`inline ${p.name} (${actions.join(', ')} on ${resources.join(', ')})`);
        }
      }
      const eniAccess = role.attached.some((a) => ENI_POLICIES.test(a));
      if (broad.length > 0) {
        return warn(
          `role ${role.name} grants more than the function needs: ${broad.join('; ')}`,
          `Run \`chatbot-ops create-role\`: it attaches ${ENI_POLICY} (network interfaces only) in place of ${GUIDE_VPC_POLICY} and scopes the logs policy to the function's own log group; detach other broad policies by hand.`,
        );
      }
      if (!eniAccess) {
        return warn(
          `role ${role.name} has neither ${ENI_POLICY} nor ${GUIDE_VPC_POLICY}: Lambda cannot manage the function's network interfaces`,
          'Run `chatbot-ops create-role` (guide step 2).',
        );
      }
      return pass(
        `role ${role.name}: ${role.attached.map(name).join(', ')} and ${role.inline.length} inline polic${role.inline.length === 1 ? 'y' : 'ies'}; logs only to its own log group`,
      );
    },
  },
];
