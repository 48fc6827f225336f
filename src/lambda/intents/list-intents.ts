/** list_intents: every intent with a one-line description and its parameters, for discovery. */
import { defineIntent, describeParams, type Intent } from './intent.js';

/**
 * What list_intents answers. Also what `chatbot-ops tools --offline` prints from the intent table
 * bundled with the CLI, so both describe intents the same way.
 */
export function describeIntents(intents: readonly Intent[], maxQueryLimit: number) {
  return intents.map((intent) => ({
    name: intent.name,
    description: intent.description,
    params: describeParams(intent.params, maxQueryLimit),
  }));
}

export const listIntents = defineIntent({
  name: 'list_intents',
  description: 'Every intent this backend answers, with a one-line description and its parameters.',
  params: {},
  usesDatabase: false,
  async run(_db, _params, { intents, maxQueryLimit }) {
    return { data: { intents: describeIntents(intents, maxQueryLimit) }, rows: 0 };
  },
});
