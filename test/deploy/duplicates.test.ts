/**
 * API Gateway lets two REST APIs, or two usage plans, share a name. chatbot-ops cannot know which is
 * the user's, so every command that finds them by name refuses and names every id (one policy, in
 * src/deployment/deployment.ts), and changes nothing: deploy, status, destroy, invoke, test,
 * rotate-key, doctor.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
  expect((await world.run(['deploy', '--yes', '--zip', world.zipPath])).code).toBe(0);
});
afterEach(() => world.close());

/** A second REST API named like ours, as someone's console click would make it. */
function secondApi(): { ours: string; other: string } {
  const ours = [...world.fake.apis.keys()][0] ?? '';
  const other = 'api0other';
  world.fake.apis.set(other, {
    id: other,
    name: 'chatbot-api',
    types: ['REGIONAL'],
    resources: new Map([['root0other', { id: 'root0other', path: '/', methods: {} }]]),
    stages: new Map(),
  });
  return { ours, other };
}

/** A second usage plan named like ours. */
function secondPlan(): { ours: string; other: string } {
  const ours = [...world.fake.usagePlans.keys()][0] ?? '';
  const other = 'plan0other';
  world.fake.usagePlans.set(other, {
    id: other,
    name: 'chatbot-usage-plan',
    throttle: { rateLimit: 1, burstLimit: 1 },
    quota: {},
    apiStages: [],
    keys: [],
  });
  return { ours, other };
}

const mutating = () => world.fake.commandNames(world.fake.mutatingCalls());

/** The commands that find the API (and the plan) by name. */
const readers: [string, string[]][] = [
  ['deploy', ['deploy', '--yes', '--zip', '<zip>']],
  ['a step command', ['create-usage-plan', '--yes']],
  ['status', ['status', '--zip', '<zip>']],
  ['destroy', ['destroy', '--yes']],
  ['invoke', ['invoke', 'health']],
  ['test', ['test']],
];
/** rotate-key finds only the plan (and the keys) by name. */
const planReaders: [string, string[]][] = [
  ...readers,
  ['rotate-key', ['rotate-key']],
  ['rotate-key --finish', ['rotate-key', '--finish']],
];

describe.each([
  ['REST APIs', secondApi, /2 REST APIs are named chatbot-api \((.+)\)/, /api\.name/, readers],
  [
    'usage plans',
    secondPlan,
    /2 usage plans are named chatbot-usage-plan \((.+)\)/,
    /usagePlan\.name/,
    planReaders,
  ],
] as const)('two %s with the configured name', (_what, duplicate, message, field, commands) => {
  it.each(commands)(
    '%s refuses, naming both ids and the setting, and changes nothing',
    async (_name, args) => {
      const { ours, other } = duplicate();
      world.fake.clearCalls();

      const r = await world.run(args.map((a) => (a === '<zip>' ? world.zipPath : a)));

      expect(r.code).toBe(1);
      const ids = message.exec(r.text)?.[1]?.split(', ').sort();
      expect(ids).toEqual([ours, other].sort());
      expect(r.text).toMatch(field);
      expect(mutating()).toEqual([]);
      expect(world.fake.requests).toHaveLength(1);
    },
  );
});
