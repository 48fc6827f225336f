/**
 * deploy in the middle of a key rotation: `rotate-key` has put a second key on the plan, and the
 * current key is the newest one, the one `rotate-key --finish` keeps. `deploy --show-key` must print
 * that key and smoke-test the API with it, not with the old key about to be deleted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(() => world.close());

const deploy = (...extra: string[]) => world.run(['deploy', '--yes', '--zip', world.zipPath, ...extra]);
const printedKey = (out: string[]) =>
  out.find((l) => l.startsWith('API key (chatbot-api-key): '))?.slice('API key (chatbot-api-key): '.length);

describe('deploy during a key rotation', () => {
  it('--show-key prints, and the smoke test sends, the new key that rotate-key --finish keeps', async () => {
    expect((await deploy()).code).toBe(0);
    const started = await world.run(['rotate-key'], { json: true });
    const newKey = (started.results[0] as { apiKey?: string }).apiKey;
    expect(started.code).toBe(0);
    expect(newKey).toMatch(/^[\w-]{40}$/);
    world.fake.requests.length = 0;

    const during = await deploy('--show-key');

    expect(during.code).toBe(0);
    expect(printedKey(during.out)).toBe(newKey);
    expect(world.fake.requests.map((r) => r.apiKey)).toEqual([newKey]);

    const finished = await world.run(['rotate-key', '--finish', '--yes'], { json: true });
    const kept = (finished.results[0] as { currentKeyId: string }).currentKeyId;
    expect(finished.code).toBe(0);
    expect(world.fake.apiKeys.get(kept)?.value).toBe(newKey);
    expect([...world.fake.apiKeys.values()].map((k) => k.value)).toEqual([newKey]);

    const after = await deploy('--show-key');

    expect(after.code).toBe(0);
    expect(printedKey(after.out)).toBe(newKey);
  });
});
