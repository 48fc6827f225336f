/** list_intents: every intent with a one-line description and its parameters, for discovery. */
import { defineIntent, describeParams } from './intent.js';

export const listIntents = defineIntent({
  name: 'list_intents',
  description: 'Every intent this backend answers, with a one-line description and its parameters.',
  params: {},
  usesDatabase: false,
  async run(_db, _params, { intents, maxQueryLimit }) {
    return {
      data: {
        intents: intents.map((intent) => ({
          name: intent.name,
          description: intent.description,
          params: describeParams(intent.params, maxQueryLimit),
        })),
      },
      rows: 0,
    };
  },
});
