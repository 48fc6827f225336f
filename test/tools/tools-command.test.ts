/**
 * `chatbot-ops tools`: definitions made from the local stack's list_intents in the four formats, each
 * checked against what it claims to be: JSON Schema that compiles under ajv's strict mode, the MCP SDK's
 * own ListToolsResult schema, and the documented OpenAI (Chat Completions `tools`) and Anthropic
 * (Messages `tools`) shapes. The schemas also have to agree with the backend about which inputs are valid.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListToolsResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { ChatbotClient } from '../../src/client/index.js';
import type { LocalStack } from '../../src/local/stack.js';
import { toolsFromIntents } from '../../src/tools/tool-definitions.js';
import { type StackFixture, stackFixture } from '../local/stack-fixture.js';

let fixture: StackFixture;
let stack: LocalStack;

beforeAll(async () => {
  fixture = await stackFixture('tools');
  stack = await fixture.start({ usagePlan: { rateLimit: 1000, burstLimit: 2000 } });
});

afterAll(async () => {
  await fixture?.stopAll();
});

async function cli(...argv: string[]) {
  const ui = recordingUi({ json: argv.includes('--json') });
  const code = await main(['node', 'chatbot-ops', ...argv], { ui });
  return { code, ui };
}

/** `tools --format F` against the local stack, as one JSON document. */
async function tools(format: string): Promise<unknown> {
  const { code, ui } = await cli(
    '--json',
    'tools',
    '--format',
    format,
    '--url',
    stack.url,
    '--api-key',
    stack.apiKey,
  );
  expect(code, ui.err.join('\n')).toBe(0);
  return ui.results[0];
}

/** Strict: an unknown keyword, a misplaced `default` or an unsupported format fails compilation. */
const newAjv = () => new Ajv2020({ strict: true, allErrors: true });

/** Tool names both providers accept. */
const TOOL_NAME = '^[a-zA-Z0-9_-]{1,64}$';
const OBJECT_SCHEMA = {
  type: 'object',
  required: ['type', 'properties'],
  properties: { type: { const: 'object' }, properties: { type: 'object' } },
};

/** OpenAI Chat Completions: tools: [{ type: "function", function: { name, description?, parameters?, strict? } }]. */
const OPENAI_TOOLS = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['type', 'function'],
    additionalProperties: false,
    properties: {
      type: { const: 'function' },
      function: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: TOOL_NAME },
          description: { type: 'string', minLength: 1 },
          parameters: OBJECT_SCHEMA,
          strict: { type: 'boolean' },
        },
      },
    },
  },
};

/** Anthropic Messages API: tools: [{ name, description?, input_schema }] with input_schema of type object. */
const ANTHROPIC_TOOLS = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['name', 'input_schema'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: TOOL_NAME },
      description: { type: 'string', minLength: 1 },
      input_schema: OBJECT_SCHEMA,
    },
  },
};

describe('tools --format', () => {
  it('mcp: the result of tools/list, as the MCP SDK defines it, one tool per intent but list_intents', async () => {
    const doc = (await tools('mcp')) as { tools: { name: string; inputSchema: object }[] };
    const { intents } = await new ChatbotClient({ url: stack.url, apiKey: stack.apiKey }).listIntents();

    expect(() => ListToolsResultSchema.parse(doc)).not.toThrow();
    expect(doc.tools.map((t) => t.name)).toEqual(
      intents.map((i) => i.name).filter((n) => n !== 'list_intents'),
    );
    for (const tool of doc.tools) expect(() => newAjv().compile(tool.inputSchema)).not.toThrow();
  });

  it('openai: the documented Chat Completions tools array, every parameters a valid schema', async () => {
    const doc = (await tools('openai')) as { function: { parameters: object } }[];

    const shape = newAjv().compile(OPENAI_TOOLS);
    expect(shape(doc), JSON.stringify(shape.errors)).toBe(true);
    for (const tool of doc) expect(() => newAjv().compile(tool.function.parameters)).not.toThrow();
  });

  it('anthropic: the documented Messages tools array, every input_schema a valid schema', async () => {
    const doc = (await tools('anthropic')) as { input_schema: object }[];

    const shape = newAjv().compile(ANTHROPIC_TOOLS);
    expect(shape(doc), JSON.stringify(shape.errors)).toBe(true);
    for (const tool of doc) expect(() => newAjv().compile(tool.input_schema)).not.toThrow();
  });

  it('json-schema: one draft 2020-12 document per tool', async () => {
    const doc = (await tools('json-schema')) as Record<string, Record<string, unknown>>;

    expect(Object.keys(doc)).toContain('get_access_logs');
    for (const [name, schema] of Object.entries(doc)) {
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.title).toBe(name);
      expect(() => newAjv().compile(schema)).not.toThrow();
    }
  });

  it('prints the document without --json too', async () => {
    const { code, ui } = await cli(
      'tools',
      '--format',
      'anthropic',
      '--url',
      stack.url,
      '--api-key',
      stack.apiKey,
    );

    expect(code).toBe(0);
    expect(JSON.parse(ui.out.join('\n'))).toEqual(await tools('anthropic'));
  });

  it('--offline (the intents bundled with the CLI) gives what the backend of this version gives', async () => {
    const { code, ui } = await cli('--json', 'tools', '--format', 'openai', '--offline');

    expect(code).toBe(0);
    expect(ui.results[0]).toEqual(await tools('openai'));
  });
});

describe('the schemas agree with the backend', () => {
  // Inputs whose validity the schema can judge on its own: types, ranges, enums, patterns, unknown or
  // missing names. (Combinations such as hours with start_time are left to the backend.)
  const CASES: [string, Record<string, unknown>][] = [
    ['get_traffic_summary', { top_n: 5, hours: 24 }],
    ['get_traffic_summary', { top_n: 0 }],
    ['get_traffic_summary', { top_n: 51 }],
    ['get_traffic_summary', { top_n: 2.5 }],
    ['get_traffic_summary', { hours: 8761 }],
    ['get_traffic_summary', { all_time: 'yes' }],
    ['get_traffic_summary', { top: 3 }],
    ['get_access_logs', { limit: 1000, method: 'GET' }],
    ['get_access_logs', { limit: 1001 }],
    ['get_access_logs', { method: 'G E T' }],
    ['get_access_logs', { status_code: 99 }],
    ['get_access_logs', { endpoint: 'x'.repeat(701) }],
    ['get_error_logs', { min_status: 399 }],
    ['get_error_logs', { min_status: 500 }],
    ['get_ip_activity', { ip_address: '10.0.0.1' }],
    ['get_ip_activity', {}],
    ['get_traffic_timeseries', { interval: 'day', hours: 48 }],
    ['get_traffic_timeseries', { interval: 'week' }],
    ['get_endpoint_stats', { endpoint: '/api/users', top_n: 50 }],
    ['health', {}],
    ['health', { verbose: true }],
  ];

  it.each(CASES)('%s %j: valid by the schema exactly when the backend accepts it', async (name, args) => {
    const doc = (await tools('json-schema')) as Record<string, object>;
    const validate = newAjv().compile(doc[name] as object);
    const answer = await new ChatbotClient({ url: stack.url, apiKey: stack.apiKey, retries: 0 }).send({
      intent: name,
      params: args,
    });

    expect(validate(args)).toBe(answer.status === 200);
    if (answer.status !== 200) expect(answer.json).toMatchObject({ error_code: 'INVALID_PARAMS' });
  });
});

describe('where the definitions come from', () => {
  it('a new intent, or a parameter type this version does not know, becomes a tool with no code change', () => {
    const [tool] = toolsFromIntents([
      {
        name: 'get_bandwidth',
        description: 'Bytes sent per day.',
        params: [
          {
            name: 'bots',
            type: 'enum',
            description: 'Bots.',
            required: false,
            values: ['include', 'exclude'],
            default: 'include',
          },
          { name: 'site', type: 'hostname', description: 'The site.', required: true },
        ],
      },
    ]);

    expect(tool).toEqual({
      name: 'get_bandwidth',
      title: 'Get bandwidth',
      description: 'Bytes sent per day.',
      inputSchema: {
        type: 'object',
        properties: {
          bots: { type: 'string', description: 'Bots.', enum: ['include', 'exclude'], default: 'include' },
          site: { description: 'The site.' },
        },
        required: ['site'],
        additionalProperties: false,
      },
    });
  });

  it('a backend that does not answer is an error that offers --offline', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/prod/chatbot`;
    await new Promise<void>((r) => closed.close(() => r()));

    const { code, ui } = await cli('tools', '--url', url, '--api-key', 'k', '--retry', '0');

    expect(code).toBe(1);
    expect(ui.err[0]).toBe(
      `Error: could not read list_intents from ${url}: could not reach ${url}: ECONNREFUSED`,
    );
    expect(ui.err[1]).toMatch(
      /pass --offline for the definitions of the backend bundled with this chatbot-ops/,
    );
    expect(ui.out).toEqual([]);
  });

  it.each([
    [['--format', 'gemini'], /--format must be one of mcp, openai, anthropic, json-schema \(got "gemini"\)/],
    [['--offline', '--local'], /--offline asks no backend: leave out --local, --url and --api-key/],
  ])('refuses %j before asking anything', async (flags, message) => {
    const { code, ui } = await cli('tools', ...flags);

    expect(code).toBe(2);
    expect(ui.err.join('\n')).toMatch(message);
  });
});
