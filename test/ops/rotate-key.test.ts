import {
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
} from '@aws-sdk/client-api-gateway';
import { UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../../src/aws/clients.js';
import { makeContext } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import { type Prompter, recordingUi } from '../../src/cli/ui.js';
import { resolveDeployedTarget } from '../../src/client/deployed-target.js';
import { editApiKeys, ROTATION_TAG } from '../../src/deployment/rotation.js';
import type { CheckResult } from '../../src/doctor/engine.js';
import { hashApiKey } from '../../src/lambda/api-keys.js';
import {
  answerTo,
  DB_PASSWORD,
  FAST_TIMING,
  freshWorld,
  healthyWorld,
  KEY_ID,
  KEY_VALUE,
  mocks,
  PLAN_ID,
  type World,
  writeConfig,
} from './fixtures/deployment.js';

let world: World;

beforeEach(() => {
  world = freshWorld();
});
afterEach(() => {
  vi.useRealTimers();
});

async function rotate(args: string[] = [], json = false, prompt?: Prompter) {
  const ui = recordingUi({ json, ...(prompt ? { prompt } : {}) });
  const code = await main(
    ['node', 'chatbot-ops', ...(json ? ['--json'] : []), '--config', writeConfig(), 'rotate-key', ...args],
    { ui, timing: FAST_TIMING },
  );
  return { code, ui, text: [...ui.out, ...ui.err].join('\n') };
}

const newKey = () => world.apiKeys.find((k) => k.id !== KEY_ID);
const apiKeysEnv = () => (world.fn?.Environment?.Variables?.API_KEYS ?? '').split(',');

describe('rotate-key, first stage', () => {
  it('creates a key under the same name, lets the function accept both, attaches it, and prints it once', async () => {
    const { code, ui } = await rotate();

    expect(code).toBe(0);
    const created = newKey();
    expect(mocks.apigateway.commandCalls(CreateApiKeyCommand)[0]?.args[0].input).toEqual({
      name: 'chatbot-api-key',
      value: created?.value,
      enabled: true,
      description: 'chatbot API key (managed by chatbot-ops)',
      tags: {
        'managed-by': 'chatbot-ops',
        'chatbot-ops:function': 'chatbot-backend',
        'chatbot-ops:api': 'chatbot-api',
        [ROTATION_TAG]: '2026-11-29T12:00:00Z',
      },
    });
    expect(created?.value).toMatch(/^[\w-]{40}$/);
    expect(mocks.lambda.commandCalls(UpdateFunctionConfigurationCommand)[0]?.args[0].input).toEqual({
      FunctionName: 'chatbot-backend',
      Environment: {
        Variables: {
          ...healthyWorld().fn?.Environment?.Variables,
          API_KEYS: [hashApiKey(KEY_VALUE), hashApiKey(created?.value ?? '')].sort().join(','),
        },
      },
    });
    expect(mocks.apigateway.commandCalls(CreateUsagePlanKeyCommand)[0]?.args[0].input).toEqual({
      usagePlanId: PLAN_ID,
      keyId: created?.id,
      keyType: 'API_KEY',
    });
    // The middle state: both keys on the plan, both hashes in the function's environment, both answered 200.
    expect(world.usagePlanKeys.map((k) => k.id)).toEqual([KEY_ID, created?.id]);
    expect(apiKeysEnv()).toHaveLength(2);
    expect(answerTo(world, KEY_VALUE)).toBe(200);
    expect(answerTo(world, created?.value ?? '')).toBe(200);
    expect(ui.out.filter((l) => l.includes(created?.value ?? '-')).length).toBe(1);
    expect(ui.out.join('\n')).not.toContain(KEY_VALUE);
  });

  it('makes the new key the one invoke and test use', async () => {
    await rotate();

    const ctx = makeContext(
      { config: writeConfig(), json: false, yes: false, verbose: false },
      recordingUi(),
      { awsFactory: createAwsClients },
    );
    const target = await resolveDeployedTarget(ctx);

    expect(target.apiKey).toBe(newKey()?.value);
    expect(target.url).toBe('https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/chatbot');
  });

  it('changes nothing when run again in the middle state, and does not print the key again', async () => {
    await rotate();
    const created = newKey();
    world.fake.clearCalls();

    const { code, text } = await rotate();

    expect(code).toBe(0);
    expect(mocks.apigateway.commandCalls(CreateApiKeyCommand)).toHaveLength(0);
    expect(mocks.lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(0);
    expect(mocks.apigateway.commandCalls(CreateUsagePlanKeyCommand)).toHaveLength(0);
    expect(text).toMatch(/already in progress/);
    expect(text).not.toContain(created?.value);
  });

  it('resumes a run interrupted after the key was created', async () => {
    world.fake.failOnce('UpdateFunctionConfiguration', new Error('throttled'));
    const first = await rotate();
    expect(first.code).toBe(1);
    expect(world.usagePlanKeys).toHaveLength(1);

    const second = await rotate();

    expect(second.code).toBe(0);
    expect(mocks.apigateway.commandCalls(CreateApiKeyCommand)).toHaveLength(1);
    expect(second.text).toMatch(/Resuming the rotation/);
    expect(answerTo(world, KEY_VALUE)).toBe(200);
    expect(answerTo(world, newKey()?.value ?? '')).toBe(200);
  });

  it('leaves doctor without a fail in the middle state, warning that a rotation is in progress', async () => {
    await rotate();
    const ui = recordingUi({ json: true });

    const code = await main(
      ['node', 'chatbot-ops', '--json', '--config', writeConfig(), 'doctor', '--offline'],
      { ui },
    );

    const checks = (ui.results[0] as { checks: CheckResult[] }).checks;
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.id === 'plan.key')?.status).toBe('warn');
    expect(checks.find((c) => c.id === 'plan.key-hash')?.evidence).toBe(
      '2 keys on the plan, all hashes are in API_KEYS',
    );
    expect(code).toBe(0);
  });
});

describe('rotate-key --finish', () => {
  it('retires the old key: off the plan, out of API_KEYS, deleted; the new one keeps working', async () => {
    await rotate();
    const created = newKey();

    const { code, ui } = await rotate(['--finish', '--yes'], true);

    expect(code).toBe(0);
    expect(ui.results).toEqual([{ stage: 'finished', currentKeyId: created?.id, retiredKeyIds: [KEY_ID] }]);
    expect(mocks.apigateway.commandCalls(DeleteUsagePlanKeyCommand)[0]?.args[0].input).toEqual({
      usagePlanId: PLAN_ID,
      keyId: KEY_ID,
    });
    expect(mocks.apigateway.commandCalls(DeleteApiKeyCommand)[0]?.args[0].input).toEqual({ apiKey: KEY_ID });
    expect(apiKeysEnv()).toEqual([hashApiKey(created?.value ?? '')]);
    expect(world.fn?.Environment?.Variables?.DB_PASSWORD).toBe(DB_PASSWORD);
    expect(world.apiKeys.map((k) => k.id)).toEqual([created?.id]);
    expect(answerTo(world, KEY_VALUE)).toBe(403);
    expect(answerTo(world, created?.value ?? '')).toBe(200);
  });

  it('has nothing to do when run again', async () => {
    await rotate();
    await rotate(['--finish', '--yes']);
    world.fake.clearCalls();

    const { code, text } = await rotate(['--finish', '--yes']);

    expect(code).toBe(0);
    expect(text).toMatch(/Nothing to finish/);
    expect(mocks.lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(0);
    expect(mocks.apigateway.commandCalls(DeleteApiKeyCommand)).toHaveLength(0);
  });

  it('converges when interrupted after detaching the old key', async () => {
    await rotate();
    const created = newKey();
    world.fake.clearCalls();
    world.fake.failOnce('UpdateFunctionConfiguration', new Error('throttled'));
    const first = await rotate(['--finish', '--yes']);
    expect(first.code).toBe(1);
    expect(world.apiKeys).toHaveLength(2);
    expect(world.usagePlanKeys.map((k) => k.id)).toEqual([created?.id]);

    const second = await rotate(['--finish', '--yes']);

    expect(second.code).toBe(0);
    expect(world.apiKeys.map((k) => k.id)).toEqual([created?.id]);
    expect(apiKeysEnv()).toEqual([hashApiKey(created?.value ?? '')]);
  });

  it('refuses while the new key is not on the plan yet', async () => {
    world.fake.apiKeys.set('k3yhalf', {
      id: 'k3yhalf',
      name: 'chatbot-api-key',
      enabled: true,
      value: 'H4lfD0n3H4lfD0n3H4lfD0n3H4lfD0n3H4lfD0n3',
      createdDate: new Date('2026-11-29T11:00:00Z'),
      tags: { [ROTATION_TAG]: '2026-11-29T11:00:00Z' },
    });

    const { code, text } = await rotate(['--finish', '--yes']);

    expect(code).toBe(1);
    expect(text).toMatch(/not on the usage plan yet/);
    expect(mocks.apigateway.commandCalls(DeleteApiKeyCommand)).toHaveLength(0);
  });
});

describe('rotate-key --finish asks first', () => {
  it('shows what it retires and asks; "no" changes nothing (exit 1)', async () => {
    await rotate();
    const created = newKey();
    world.fake.clearCalls();
    const asked: string[] = [];
    const no = { confirm: async (m: string) => asked.push(m) < 0 } as unknown as Prompter;

    const { code, ui } = await rotate(['--finish'], false, no);

    expect(code).toBe(1);
    expect(ui.out).toEqual([
      `Retiring the old key; ${created?.id} stays:`,
      `  - delete    key association chatbot-api-key (${KEY_ID}) → chatbot-usage-plan`,
      '  ~ update    Lambda function chatbot-backend',
      '        environment.API_KEYS: (2 key hash(es)) → (1 key hash(es))',
      `  - delete    API key chatbot-api-key (${KEY_ID})`,
      '        created: 2026-11-01T08:00:00Z',
      'Nothing was changed.',
    ]);
    expect(asked).toEqual([`Retire ${KEY_ID}? A client still sending it gets 403 from then on.`]);
    expect(world.fake.mutatingCalls()).toEqual([]);
    expect(answerTo(world, KEY_VALUE)).toBe(200);
  });

  it('"yes" at the prompt retires the key', async () => {
    await rotate();
    const yes = { confirm: async () => true } as unknown as Prompter;

    const { code } = await rotate(['--finish'], false, yes);

    expect(code).toBe(0);
    expect(world.apiKeys.map((k) => k.id)).toEqual([newKey()?.id]);
  });

  it('--dry-run shows the plan and changes nothing; --json without --yes is bad usage', async () => {
    await rotate();
    world.fake.clearCalls();

    const dry = await rotate(['--finish', '--dry-run'], true);
    const json = await rotate(['--finish'], true);
    const stray = await rotate(['--dry-run']);

    expect(dry.code).toBe(0);
    expect(dry.ui.results[0]).toMatchObject({ stage: 'planned', dryRun: true, retiring: [KEY_ID] });
    expect(json.code).toBe(2);
    expect(stray.code).toBe(2);
    expect(world.fake.mutatingCalls()).toEqual([]);
  });

  it('the first stage says the new key may take up to about a minute to be accepted', async () => {
    const { ui } = await rotate();

    expect(ui.out.join('\n')).toContain(
      'API Gateway accepts the new key once the usage plan change reaches it (usually within seconds, at most about a minute',
    );
    expect(ui.out.join('\n')).not.toMatch(/Both keys work now/);
  });
});

describe('API_KEYS editing', () => {
  it.each([
    ['adds a hash once, sorted', 'sha256:bb', ['k1'], [], [hashApiKey('k1'), 'sha256:bb'].sort().join(',')],
    ['removes a hashed or plain entry', `${hashApiKey('old')},old,sha256:cc`, [], ['old'], 'sha256:cc'],
    [
      'keeps what it does not know',
      'sha256:dd, ',
      ['new'],
      ['old'],
      [hashApiKey('new'), 'sha256:dd'].sort().join(','),
    ],
  ])('%s', (_what, current, add, remove, expected) => {
    expect(editApiKeys(current, add, remove)).toBe(expected);
  });
});
