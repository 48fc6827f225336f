/**
 * What the running system says: alarms (guide step 8), the function's logs (Security Checklist
 * "CloudWatch Logs enabled"; Troubleshooting "Review CloudWatch Logs"), a direct `health`
 * invocation (Troubleshooting "Database Connection Errors") and a call through the API with and
 * without the key (Troubleshooting 401 / 403 / 429; Security Checklist "API Gateway requires API key",
 * "Error messages don't leak sensitive info").
 */
import type { AlarmStatus } from '../../aws/inspect.js';
import { parseLogLine } from '../../aws/log-events.js';
import { notBackendAnswer, summarizeBody } from '../../client/body-text.js';
import { notFromTheApi } from '../../deploy/smoke-test.js';
import type { AwsFacts, HealthProbe } from '../aws-facts.js';
import { type Check, fail, pass, skipBecause, unknown, type Verdict, warn } from '../engine.js';

const NETWORK_FIX =
  'The function cannot reach the database: check that it is in the VPC (`chatbot-ops configure-vpc`), that the Lambda group allows egress TCP 3306 to the RDS group and the RDS group admits 3306 from it, and that RDS is in the same VPC; `chatbot-ops doctor` shows each under Network.';

/**
 * THE ONE PLACE THAT READS ERROR TEXT. The backend answers every database failure with the same
 * safe message (no answer names a host or a user), so the cause is only in its log line (the mysql2
 * error code, errno) or in Lambda's timeout message. Matched here, in order of specificity.
 */
export function classifyDatabaseFailure(text: string): { cause: string; fix: string } {
  if (/ER_ACCESS_DENIED_ERROR|"errno":\s*1045|access denied/i.test(text)) {
    return {
      cause: 'the database refused the login (access denied)',
      fix: 'Verify the DB credentials in the environment variables: database.user in the config and the password in the variable database.passwordEnv names (or the secret), then `chatbot-ops create-function`.',
    };
  }
  if (/ER_BAD_DB_ERROR|"errno":\s*1049|unknown database/i.test(text)) {
    return {
      cause: 'the database does not exist (unknown database)',
      fix: 'Check DB_NAME: set database.name to the database on the RDS instance and run `chatbot-ops create-function`, or create it with `chatbot-ops db init`.',
    };
  }
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(text)) {
    return {
      cause: 'the database host name does not resolve',
      fix: 'Check the RDS endpoint is correct: database.host in the config, then `chatbot-ops create-function`.',
    };
  }
  if (/ECONNREFUSED/i.test(text)) {
    return {
      cause: 'the database host refused the connection',
      fix: 'Check database.host and database.port point at the RDS instance and that it is running.',
    };
  }
  if (/Task timed out|Sandbox\.Timedout|ETIMEDOUT|timed out|timeout/i.test(text)) {
    return { cause: 'the connection to the database timed out', fix: NETWORK_FIX };
  }
  if (/HANDSHAKE|SSL|TLS|certificate/i.test(text)) {
    return {
      cause: 'the TLS handshake with the database failed',
      fix: 'Check DB_SSL (database.ssl in the config): RDS expects TLS with the Amazon RDS certificate authorities.',
    };
  }
  if (/backend misconfigured/i.test(text)) {
    return {
      cause: 'the backend reports it is misconfigured',
      fix: 'See the Function checks above ("environment variables").',
    };
  }
  return {
    cause: 'the database is unavailable',
    fix: 'See the detail with `chatbot-ops logs --since 15m --filter ERROR`.',
  };
}

/** The verdict on a direct `health` invocation. */
export function judgeHealth(probe: HealthProbe): Verdict {
  const rid = probe.requestId ? ` (request ${probe.requestId})` : '';
  if (probe.functionError) {
    const { cause, fix } = classifyDatabaseFailure(`${probe.functionError}\n${probe.logTail ?? ''}`);
    return fail(`the function failed: ${probe.functionError}${rid}; likely ${cause}`, fix);
  }
  // Every answer of the backend, good or bad, says `success`; anything else did not come from its
  // code (an AWS API emulator that does not run Lambda code echoes the event, or answers a stock
  // text), so it says nothing about the database: unknown, not failed.
  if (notBackendAnswer(probe.body, { intent: 'health' })) {
    return unknown(
      `the invocation answered ${probe.statusCode} with something that is not the backend's answer (${probe.body.slice(0, 80) || 'empty'})${rid}: its code did not run`,
      "Against AWS, deploy the backend's code (`chatbot-ops create-function`, handler lambda_function.lambda_handler); an emulator that does not run Lambda code cannot answer this check.",
    );
  }
  const body = JSON.parse(probe.body) as {
    success: boolean;
    error?: string;
    error_code?: string;
    data?: { database?: { reachable?: boolean; latency_ms?: number } };
  };
  const db = body.data?.database;
  if (probe.statusCode === 200 && body.success && db?.reachable !== false) {
    return pass(`database reachable, query ${db?.latency_ms ?? '?'} ms, invocation ${probe.ms} ms`);
  }
  const { cause, fix } = classifyDatabaseFailure(`${body.error ?? ''}\n${probe.logTail ?? ''}`);
  return fail(
    `health answered ${probe.statusCode} ${body.error_code ?? ''} "${body.error ?? ''}"${rid}: ${cause}`,
    fix,
  );
}

/** Signs of internals in an error answer: a stack frame, SQL, driver error codes. */
const LEAK_PATTERNS: [RegExp, string][] = [
  [/\bat .+:\d+:\d+\)?/, 'a stack trace'],
  [/\b(SELECT|INSERT|UPDATE)\b[\s\S]*\bFROM\b|\bsqlMessage\b|\bsqlState\b/i, 'SQL text'],
  [/\bER_[A-Z_]+\b|\bECONNREFUSED\b|\bETIMEDOUT\b/, 'a driver error code'],
];

/**
 * The verdict on the bad-input invocation (Security Checklist: "Input validation enabled", "Error
 * messages don't leak sensitive info"): 400 INVALID_PARAMS, and nothing of the configuration or
 * internals in the body.
 */
export function judgeBadInput(
  r: { statusCode: number; body: string; functionError?: string },
  env: Record<string, string>,
): Verdict {
  if (r.functionError)
    return fail(
      `the function crashed on bad input: ${r.functionError}`,
      'See `chatbot-ops logs --since 15m`; the backend must answer 400 INVALID_PARAMS.',
    );
  const secrets = ['DB_HOST', 'DB_USER', 'DB_PASSWORD', 'DB_NAME', 'DB_SECRET_ARN']
    .map((name) => [name, env[name]] as const)
    .filter((e): e is readonly [string, string] => typeof e[1] === 'string' && e[1].length >= 3);
  const leaks = [
    ...secrets.filter(([, value]) => r.body.includes(value)).map(([name]) => `the value of ${name}`),
    ...LEAK_PATTERNS.filter(([re]) => re.test(r.body)).map(([, what]) => what),
  ];
  if (leaks.length > 0) {
    return fail(
      `the error answer shows ${leaks.join(', ')}`,
      'Error messages must not leak internals: deploy the current backend with `chatbot-ops create-function`.',
    );
  }
  let code: string | undefined;
  try {
    code = (JSON.parse(r.body) as { error_code?: string }).error_code;
  } catch {
    code = undefined;
  }
  if (r.statusCode !== 400 || code !== 'INVALID_PARAMS') {
    return fail(
      `an injection attempt and limit -1 were answered ${r.statusCode} ${code ?? ''}, not 400 INVALID_PARAMS: input validation is off`,
      'Deploy the current backend with `chatbot-ops create-function`.',
    );
  }
  return pass('400 INVALID_PARAMS for an injection attempt and limit -1, no internals in the message');
}

function alarmLine(kind: string, alarms: AlarmStatus[]): string {
  return alarms.length === 0 ? `no ${kind} alarm` : alarms.map((a) => `${a.name} ${a.state}`).join(', ');
}

export const runtimeChecks: Check<AwsFacts>[] = [
  {
    id: 'alarms',
    group: 'Monitoring',
    title: 'alarms present and quiet',
    async run(f) {
      if (!f.config.alarms.enabled) skipBecause('alarms.enabled is false in the config');
      const { lambdaErrors, api4xx, api5xx } = await f.alarms();
      const seen = `${alarmLine('Lambda Errors', lambdaErrors)}; ${alarmLine('API 4XXError', api4xx)}; ${alarmLine('API 5XXError', api5xx)}`;
      const firing = [...lambdaErrors, ...api4xx, ...api5xx].filter((a) => a.state === 'ALARM');
      if (firing.length > 0) {
        return warn(
          `${seen}: ${firing.map((a) => `${a.name}: ${a.reason}`).join('; ')}`,
          'See what fails with `chatbot-ops logs --since 1h --filter ERROR`.',
        );
      }
      if (lambdaErrors.length === 0 || api4xx.length === 0) {
        return warn(seen, 'Create them with `chatbot-ops alarms` (guide step 8).');
      }
      if (api5xx.length === 0) {
        return warn(
          `${seen}: a database outage answers 503 without raising Lambda Errors, so no alarm would fire`,
          'Create the 5XXError alarm with `chatbot-ops alarms`.',
        );
      }
      return pass(seen);
    },
  },
  {
    id: 'logs.group',
    group: 'Monitoring',
    title: 'CloudWatch log group',
    async run(f) {
      await f.deployedFn();
      const group = await f.logGroup();
      if (!group) {
        return fail(
          `${f.logGroupName} does not exist: the function has never run or cannot write logs`,
          'Run `chatbot-ops create-role` (the logs policy) and `chatbot-ops create-function` (it creates the group), then invoke once.',
        );
      }
      if (group.retentionDays === undefined) {
        return warn(
          `${group.name}, kept forever`,
          'Run `chatbot-ops create-function`: it sets function.logRetentionDays.',
        );
      }
      return pass(`${group.name}, kept ${group.retentionDays} days`);
    },
  },
  {
    id: 'logs.recent-errors',
    group: 'Monitoring',
    title: 'errors and timeouts in the last 15 minutes',
    async run(f) {
      const events = await f.recentProblems();
      if (events.length === 0) return pass('none');
      const timeouts = events.filter((e) => /Task timed out/.test(e.message)).length;
      const last = events[events.length - 1];
      const lastText = last ? parseLogLine(last.message) : undefined;
      const summary = `${events.length - timeouts} error line${events.length - timeouts === 1 ? '' : 's'}, ${timeouts} timeout${timeouts === 1 ? '' : 's'}; last: ${(lastText?.text || last?.message || '').slice(0, 160)}`;
      return warn(
        summary,
        timeouts > 0
          ? 'Timeouts: check database query performance and the RDS instance size, and that the function reaches the database (Network checks); see `chatbot-ops logs --since 15m --filter "Task timed out"`.'
          : 'See them with `chatbot-ops logs --since 15m --filter ERROR`.',
      );
    },
  },
  {
    id: 'live.health',
    group: 'Live',
    title: 'direct health invocation',
    async run(f) {
      return judgeHealth(await f.health());
    },
  },
  {
    id: 'live.errors',
    group: 'Live',
    title: 'bad input refused without leaking detail',
    async run(f) {
      const [r, fn] = await Promise.all([f.badInput(), f.deployedFn()]);
      return judgeBadInput(r, fn.environment);
    },
  },
  {
    id: 'live.api',
    group: 'Live',
    title: 'API call with and without the key',
    async run(f) {
      const p = await f.apiProbe();
      const seen = `with key ${p.withKey.status} (${p.withKey.ms} ms), without ${p.withoutKey.status}`;
      const foreign =
        notFromTheApi(p.withKey.status, p.withKey.headers, p.withKey.body) ??
        notFromTheApi(p.withoutKey.status, p.withoutKey.headers, p.withoutKey.body);
      if (foreign)
        return unknown(
          `${p.url} answered ${foreign}: the deployed API could not be reached from here`,
          'Check the URL (--api-url for a custom domain); an AWS API emulator may not serve the stage URL.',
        );
      const problems: { evidence: string; fix: string }[] = [];
      if (p.withoutKey.status !== 403) {
        problems.push({
          evidence: `without a key the API answered ${p.withoutKey.status}, not 403: the deployed method does not require a key`,
          fix: 'Run `chatbot-ops create-api`: it sets API Key Required and redeploys the stage.',
        });
      }
      const w = p.withKey.status;
      if (w === 403) {
        problems.push({
          evidence: 'with the key the API answered 403 Forbidden',
          fix: 'The key is not associated with the usage plan, the plan is not on the stage, or the stage is not deployed: see the API Gateway and Usage plan checks, or run `chatbot-ops create-usage-plan` and `create-api`.',
        });
      } else if (w === 401) {
        problems.push({
          evidence: 'with the key the function answered 401 Unauthorized',
          fix: "The key's hash is not in the function's API_KEYS: run `chatbot-ops create-function`.",
        });
      } else if (w === 429) {
        problems.push({
          evidence: `with the key the API answered 429: ${/limit exceeded/i.test(p.withKey.body) ? 'the quota is used up' : 'throttled'}`,
          fix: 'Reduce the request rate, implement exponential backoff in the chatbot, or raise the usage plan limits (check burst vs rate).',
        });
      } else if (w >= 500) {
        problems.push({
          evidence: `with the key the API answered ${w}: ${summarizeBody(p.withKey.body, 120)}`,
          fix: 'See the direct health invocation above and `chatbot-ops logs --since 15m`.',
        });
      } else if (w !== 200) {
        problems.push({
          evidence: `with the key the API answered ${w}`,
          fix: 'See `chatbot-ops logs --since 15m`.',
        });
      }
      if (problems.length === 0) return pass(`${seen}; ${p.url}`);
      return fail(
        `${seen}: ${problems.map((x) => x.evidence).join('; ')}`,
        problems.map((x) => x.fix).join(' '),
      );
    },
  },
];
