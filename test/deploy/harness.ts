/**
 * The shared set-up of the deploy tests: a fake account with its API served on 127.0.0.1, a config
 * file and a fixture zip in a temp dir, instant timing, and `run(...)` that goes through the real
 * CLI parser (main) with a recording Ui and the mocked clients.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import type { Interrupts } from '../../src/cli/interrupt.js';
import { main } from '../../src/cli/main.js';
import { type Prompter, recordingUi } from '../../src/cli/ui.js';
import {
  FakeAccount,
  type FakeAccountOptions,
  fakeClock,
  fastTiming,
  PRIVATE_SUBNETS,
  RDS_SG,
  REGION,
  VPC,
} from '../support/fake-account.js';

export const DB_PASSWORD = 'Pa55-word-never-shown';
export const PASSWORD_ENV = 'CHATBOT_TEST_DB_PASSWORD';

export interface World {
  fake: FakeAccount;
  dir: string;
  configPath: string;
  zipPath: string;
  endpoint: string;
  clock: ReturnType<typeof fakeClock>;
  /** The virtual clock and short waiter delays every run gets. */
  timing: ReturnType<typeof fastTiming>;
  writeConfig(doc: Record<string, unknown>): void;
  writeZip(content: string): void;
  run(
    args: string[],
    options?: { json?: boolean; prompt?: Prompter; global?: string[]; interrupts?: Interrupts },
  ): Promise<RunResult>;
  close(): void;
}

export interface RunResult {
  code: number;
  out: string[];
  err: string[];
  results: unknown[];
  /** Everything the user saw, stdout and stderr. */
  text: string;
}

/**
 * The config of the API path's tests. They leave the ingest path out (`ingest.enabled` false), so
 * each asserts the calls of the steps it is about; test/deploy/ingest.test.ts deploys with it on
 * (the default), INGEST_CONFIG.
 */
export const BASE_CONFIG = {
  region: REGION,
  vpc: { vpcId: VPC, subnetIds: PRIVATE_SUBNETS, rdsSecurityGroupId: RDS_SG },
  database: { host: 'chatbot-db.abc123.us-east-1.rds.amazonaws.com', passwordEnv: PASSWORD_ENV },
  ingest: { enabled: false },
};

/** The config with the ingest path on, as by default. */
export const INGEST_CONFIG = { ...BASE_CONFIG, ingest: {} };

/** The mutating calls of destroy for the API path, in their order (the safe one). */
export const API_PATH_REMOVAL = [
  'CloudWatch.DeleteAlarms',
  'APIGateway.DeleteUsagePlanKey',
  'APIGateway.UpdateUsagePlan',
  'APIGateway.DeleteUsagePlan',
  'APIGateway.DeleteApiKey',
  'APIGateway.DeleteRestApi',
  'Lambda.DeleteFunction',
  'CloudWatchLogs.DeleteLogGroup',
  'EC2.RevokeSecurityGroupIngress',
  'EC2.DeleteSecurityGroup',
  'IAM.DetachRolePolicy',
  'IAM.DeleteRolePolicy',
  'IAM.DeleteRole',
];

/** The calls of the ingest steps on a fresh account, in order (after the API path's; 3 inline policies). */
export const INGEST_CREATION = [
  'IAM.CreateRole',
  'IAM.AttachRolePolicy',
  'IAM.PutRolePolicy',
  'IAM.PutRolePolicy',
  'IAM.PutRolePolicy',
  'EC2.CreateSecurityGroup',
  'EC2.RevokeSecurityGroupEgress',
  'EC2.AuthorizeSecurityGroupEgress',
  'EC2.AuthorizeSecurityGroupIngress',
  'EC2.CreateVpcEndpoint',
  'S3.CreateBucket',
  'S3.PutBucketTagging',
  'S3.PutPublicAccessBlock',
  'S3.PutBucketEncryption',
  'S3.PutBucketPolicy',
  'SQS.CreateQueue',
  'CloudWatchLogs.CreateLogGroup',
  'CloudWatchLogs.PutRetentionPolicy',
  'Lambda.CreateFunction',
  'Lambda.PutFunctionEventInvokeConfig',
  'CloudWatch.PutMetricAlarm',
  'Lambda.AddPermission',
  'S3.PutBucketNotificationConfiguration',
];

/** The mutating calls of destroy for the ingest path (3 inline policies), in their order: before the API path's. */
export const INGEST_REMOVAL = [
  'S3.PutBucketNotificationConfiguration',
  'Lambda.RemovePermission',
  'CloudWatch.DeleteAlarms',
  'Lambda.DeleteFunction',
  'CloudWatchLogs.DeleteLogGroup',
  'SQS.DeleteQueue',
  'S3.DeleteBucket',
  'EC2.RevokeSecurityGroupIngress',
  'EC2.DeleteSecurityGroup',
  'EC2.DeleteVpcEndpoints',
  'IAM.DetachRolePolicy',
  'IAM.DeleteRolePolicy',
  'IAM.DeleteRolePolicy',
  'IAM.DeleteRolePolicy',
  'IAM.DeleteRole',
];

export async function createWorld(options: FakeAccountOptions = {}): Promise<World> {
  const fake = new FakeAccount(options).start();
  const endpoint = await fake.serveApi();
  const dir = mkdtempSync(join(tmpdir(), 'chatbot-deploy-'));
  const configPath = join(dir, 'chatbot-ops.config.json');
  const zipPath = join(dir, 'lambda_function.zip');
  const clock = fakeClock();
  const timing = fastTiming(clock);
  vi.stubEnv(PASSWORD_ENV, DB_PASSWORD);
  const world: World = {
    fake,
    dir,
    configPath,
    zipPath,
    endpoint,
    clock,
    timing,
    writeConfig: (doc) => writeFileSync(configPath, JSON.stringify(doc, null, 2)),
    writeZip: (content) => writeFileSync(zipPath, `PK\u0003\u0004${content}`),
    async run(args, o = {}) {
      const ui = recordingUi({ json: o.json ?? false, ...(o.prompt ? { prompt: o.prompt } : {}) });
      const global = o.global ?? ['--config', configPath, '--endpoint-url', endpoint];
      const code = await main(['node', 'chatbot-ops', ...global, ...(o.json ? ['--json'] : []), ...args], {
        ui,
        awsFactory: fake.awsFactory,
        timing,
        ...(o.interrupts ? { interrupts: o.interrupts } : {}),
      });
      return { code, out: ui.out, err: ui.err, results: ui.results, text: [...ui.out, ...ui.err].join('\n') };
    },
    close() {
      fake.stop();
      vi.unstubAllEnvs();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  world.writeConfig(BASE_CONFIG);
  world.writeZip('code v1');
  return world;
}

/**
 * A prompter that answers from a script, in order, and fails on any prompt it does not expect. It
 * records what was asked, the choices offered, and what each prompt came pre-filled with (an input's
 * default, a select's default, a checkbox's checked values).
 */
export function scriptedPrompter(
  script: { kind: keyof Prompter; match: RegExp; answer: unknown }[],
): Prompter & {
  asked: string[];
  choices: Record<string, string[]>;
  prefilled: Record<string, unknown>;
} {
  const asked: string[] = [];
  const choices: Record<string, string[]> = {};
  const prefilled: Record<string, unknown> = {};
  const next = (kind: keyof Prompter, message: string, offered?: { name: string }[], given?: unknown) => {
    asked.push(message);
    if (offered) choices[message] = offered.map((c) => c.name);
    if (given !== undefined) prefilled[message] = given;
    const step = script.shift();
    if (!step || step.kind !== kind || !step.match.test(message)) {
      return Promise.reject(new Error(`unexpected prompt: ${kind} "${message}"`));
    }
    return Promise.resolve(step.answer);
  };
  return {
    asked,
    choices,
    prefilled,
    input: (m, o) => next('input', m, undefined, o?.default) as Promise<string>,
    password: (m) => next('password', m) as Promise<string>,
    confirm: (m) => next('confirm', m) as Promise<boolean>,
    select: (m, c, d) => next('select', m, c, d) as Promise<never>,
    checkbox: (m, c) => {
      const checked = c.filter((x) => x.checked).map((x) => x.value);
      return next('checkbox', m, c, checked.length > 0 ? checked : undefined) as Promise<never>;
    },
  };
}
