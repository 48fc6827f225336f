/**
 * A new deploy step is one file and one line: with throttles-alarm-step.ts appended to the list in
 * src/deploy/steps.ts (here by vi.mock, exactly that one line), the real CLI deploys it after the
 * others (with its own option), plans it as unchanged on a re-run, shows it in status, runs it alone
 * as its own command, and destroy removes it first. No other source file knows about it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWorld, type World } from './harness.js';

vi.mock('../../src/deploy/steps.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/deploy/steps.js')>();
  const { throttlesAlarmStep } = await import('./throttles-alarm-step.js');
  return { ...original, STEPS: [...original.STEPS, throttlesAlarmStep] };
});

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(() => world.close());

const mutating = () => world.fake.commandNames(world.fake.mutatingCalls());
const deploy = (...extra: string[]) => world.run(['deploy', '--yes', '--zip', world.zipPath, ...extra]);

describe('a deploy step added to the registry', () => {
  it('deploy creates its resource after the others, with its own option; a re-run changes nothing', async () => {
    const first = await deploy('--throttles-threshold', '3');
    const puts = world.fake.calls.filter((c) => c.command === 'PutMetricAlarm').map((c) => c.input);
    world.fake.clearCalls();
    const second = await deploy('--throttles-threshold', '3');

    expect(first.code).toBe(0);
    expect(puts.map((p) => [p.AlarmName, p.MetricName, p.Threshold])).toEqual([
      ['chatbot-backend-errors', 'Errors', 10],
      ['chatbot-api-prod-4xx', '4XXError', 50],
      ['chatbot-api-prod-5xx', '5XXError', 0],
      ['chatbot-backend-throttles', 'Throttles', 3],
    ]);
    expect(second.code).toBe(0);
    expect(mutating()).toEqual([]);
    expect(second.text).toMatch(/0 to create, 0 to change, 20 unchanged/);
  });

  it('has its own command, and status reports it', async () => {
    await deploy();
    world.fake.alarms.delete('chatbot-backend-throttles');
    world.fake.clearCalls();

    const status = await world.run(['status', '--zip', world.zipPath]);
    const alone = await world.run(['create-throttles-alarm', '--yes']);

    expect(status.text).toMatch(/missing\s+alarm chatbot-backend-throttles/);
    expect(alone.code).toBe(0);
    expect(mutating()).toEqual(['CloudWatch.PutMetricAlarm']);
  });

  it('destroy removes it first (the reverse of the steps order)', async () => {
    await deploy();
    world.fake.clearCalls();

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(mutating().slice(0, 2)).toEqual(['CloudWatch.DeleteAlarms', 'CloudWatch.DeleteAlarms']);
    expect(world.fake.calls.find((c) => c.command === 'DeleteAlarms')?.input).toEqual({
      AlarmNames: ['chatbot-backend-throttles'],
    });
    expect(world.fake.alarms.size).toBe(0);
  });
});
