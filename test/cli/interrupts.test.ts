/**
 * Stopping a run: Ctrl-C at a prompt (inquirer's ExitPromptError) is a plain cancellation, exit 130;
 * Ctrl-C while deploy, destroy or rotate-key change AWS says where it stopped and what to run, exit
 * 130; a confirmation with no terminal to ask on names --yes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Interrupts } from '../../src/cli/interrupt.js';
import { inquirerPrompter } from '../../src/cli/terminal-ui.js';
import { Cancelled } from '../../src/errors.js';
import { createWorld, type World } from '../deploy/harness.js';

/** What inquirer's prompts do on Ctrl-C: reject with ExitPromptError. */
const ctrlC = () =>
  Promise.reject(
    Object.assign(new Error('User force closed the prompt with SIGINT'), { name: 'ExitPromptError' }),
  );
const inquirerPressedCtrlC = inquirerPrompter(
  async () =>
    ({
      input: ctrlC,
      password: ctrlC,
      confirm: ctrlC,
      select: ctrlC,
      checkbox: ctrlC,
    }) as never,
);

/** A Ctrl-C the test fires itself, and the exit it asks for. */
function fakeInterrupts(): Interrupts & { fire(): void; exits: number[] } {
  let handler: (() => void) | undefined;
  const exits: number[] = [];
  return {
    exits,
    on(h) {
      handler = h;
      return () => {
        handler = undefined;
      };
    },
    exit: (code) => {
      exits.push(code);
    },
    fire: () => handler?.(),
  };
}

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(() => world.close());

describe('Ctrl-C at a prompt', () => {
  it.each(['input', 'password', 'confirm', 'select', 'checkbox'] as const)(
    '%s: a cancellation that says nothing was changed',
    async (kind) => {
      const ask = inquirerPressedCtrlC[kind] as (m: string, c?: unknown) => Promise<unknown>;

      await expect(ask('question?', [])).rejects.toEqual(
        new Cancelled('Cancelled at the prompt: nothing was changed.'),
      );
    },
  );

  it('deploy asked to confirm: exit 130, one plain line, no "force closed", nothing changed', async () => {
    const r = await world.run(['deploy', '--zip', world.zipPath], { prompt: inquirerPressedCtrlC });

    expect(r.code).toBe(130);
    expect(r.err).toContain('Cancelled at the prompt: nothing was changed.');
    expect(r.text).not.toMatch(/force closed|Error:/);
    expect(world.fake.mutatingCalls()).toEqual([]);
  });
});

describe('Ctrl-C while AWS is being changed', () => {
  it('deploy: says which step it stopped in and to run deploy again, exits 130', async () => {
    const interrupts = fakeInterrupts();
    world.fake.onCall = (command) => {
      if (command === 'CreateFunction') interrupts.fire();
    };

    const r = await world.run(['deploy', '--yes', '--zip', world.zipPath], { interrupts });

    expect(interrupts.exits).toEqual([130]);
    expect(r.err).toContain('✖ Lambda function (create-function) interrupted');
    expect(r.err).toContain(
      'Interrupted during step "create-function" (guide step 3): AWS may have finished part of it.',
    );
    expect(r.err).toContain(
      'Run `chatbot-ops deploy` again: it reads what exists and continues from there (nothing is made twice).',
    );
  });

  it('a step command names itself as the one to run again', async () => {
    const interrupts = fakeInterrupts();
    world.fake.onCall = (command) => {
      if (command === 'CreateRole') interrupts.fire();
    };

    const r = await world.run(['create-role', '--yes'], { interrupts });

    expect(interrupts.exits).toEqual([130]);
    expect(r.err.join('\n')).toContain('Run `chatbot-ops create-role` again');
  });

  it('destroy: says what it was removing and to run destroy again', async () => {
    await world.run(['deploy', '--yes', '--zip', world.zipPath]);
    const interrupts = fakeInterrupts();
    world.fake.onCall = (command) => {
      if (command === 'DeleteRestApi') interrupts.fire();
    };

    const r = await world.run(['destroy', '--yes'], { interrupts });

    expect(interrupts.exits).toEqual([130]);
    expect(r.err.join('\n')).toMatch(
      /Interrupted while removing REST API \w+: some resources may be gone, others not yet\./,
    );
    expect(r.err).toContain('Run `chatbot-ops destroy` again: it finds what is left and removes it.');
  });

  it('a Ctrl-C after the run ended does nothing (the listener is gone)', async () => {
    const interrupts = fakeInterrupts();

    await world.run(['deploy', '--yes', '--zip', world.zipPath], { interrupts });
    interrupts.fire();

    expect(interrupts.exits).toEqual([]);
  });
});

describe('a confirmation with no terminal to ask on', () => {
  it.each([
    ['deploy', ['deploy', '--zip', '<zip>']],
    ['destroy', ['destroy']],
  ])('%s says to add --yes (exit 2), changing nothing', async (_name, args) => {
    if (args[0] === 'destroy') await world.run(['deploy', '--yes', '--zip', world.zipPath]);
    world.fake.clearCalls();

    const r = await world.run(args.map((a) => (a === '<zip>' ? world.zipPath : a)));

    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(/this needs an answer: .*\(no terminal to ask on\)/);
    expect(r.err.join('\n')).toContain('Add --yes to go ahead without asking');
    expect(world.fake.mutatingCalls()).toEqual([]);
  });
});
