/**
 * Tool definitions for language models, made from what list_intents says about each intent, so they
 * follow the backend: an intent the backend adds becomes a tool with no change here. One neutral
 * definition (name, description, JSON Schema of the input), then the shapes each way of wiring a
 * model to tools expects: MCP's tools/list, OpenAI function calling, Anthropic tool use, or plain
 * JSON Schema documents. Pure functions.
 */
import type { IntentDoc, IntentParamDoc } from '../client/intent-types.js';

export type JsonSchema = Record<string, unknown>;

export interface ToolDefinition {
  name: string;
  /** A human-readable name ("Get access logs"), for clients that show one. */
  title: string;
  description: string;
  /** A JSON Schema (draft 2020-12) object schema of the intent's params. */
  inputSchema: JsonSchema & { type: 'object' };
}

export const TOOL_FORMATS = ['mcp', 'openai', 'anthropic', 'json-schema'] as const;
export type ToolFormat = (typeof TOOL_FORMATS)[number];

/**
 * list_intents is the catalogue the tools are made from: as a tool it would only repeat tools/list
 * (or the definitions a program hands its model), so it is left out.
 */
const NOT_A_TOOL = new Set(['list_intents']);

/** An HTTP method token (RFC 9110 tchar), what the backend accepts for `method`. */
const HTTP_METHOD_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,16}$";

/** The JSON Schema of one parameter, from its list_intents type, range, values and default. */
export function paramSchema(p: IntentParamDoc): JsonSchema {
  const schema: JsonSchema = {};
  switch (p.type) {
    case 'integer':
      schema.type = 'integer';
      break;
    case 'boolean':
      schema.type = 'boolean';
      break;
    case 'enum':
    case 'string':
    case 'ip_address':
    case 'iso8601':
      schema.type = 'string';
      break;
    case 'http_method':
      schema.type = 'string';
      schema.pattern = HTTP_METHOD_PATTERN;
      break;
    default:
      // A type this version does not know yet (a newer backend): no type constraint, the backend
      // still validates it, and the description says what it takes.
      break;
  }
  const hint =
    p.type === 'ip_address'
      ? ' (an IPv4 or IPv6 address)'
      : p.type === 'iso8601' && !/ISO 8601/.test(p.description)
        ? ' (ISO 8601)'
        : '';
  schema.description = `${p.description}${hint}`;
  if (typeof p.minimum === 'number') schema.minimum = p.minimum;
  if (typeof p.maximum === 'number') schema.maximum = p.maximum;
  if (typeof p.maxLength === 'number') schema.maxLength = p.maxLength;
  if (Array.isArray(p.values) && p.values.length > 0) schema.enum = [...p.values];
  if (p.default !== undefined) schema.default = p.default;
  return schema;
}

function titleOf(name: string): string {
  const words = name.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** One tool per intent (but list_intents), its input schema closed: the backend refuses unknown params. */
export function toolsFromIntents(intents: readonly IntentDoc[]): ToolDefinition[] {
  return intents
    .filter((intent) => !NOT_A_TOOL.has(intent.name))
    .map((intent) => {
      const params = Array.isArray(intent.params) ? intent.params : [];
      const required = params.filter((p) => p.required).map((p) => p.name);
      return {
        name: intent.name,
        title: titleOf(intent.name),
        description: intent.description,
        inputSchema: {
          type: 'object',
          properties: Object.fromEntries(params.map((p) => [p.name, paramSchema(p)])),
          ...(required.length > 0 ? { required } : {}),
          additionalProperties: false,
        },
      };
    });
}

/** MCP tool annotations: every intent only reads the access-log table. */
export const READ_ONLY_ANNOTATIONS = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const;

/** The tools/list entry of a tool, as `chatbot-ops mcp` serves it. */
export function mcpTool(tool: ToolDefinition) {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema,
    annotations: { title: tool.title, ...READ_ONLY_ANNOTATIONS },
  };
}

/**
 * The definitions in one format:
 * - `mcp`: `{ "tools": [...] }`, the result of tools/list;
 * - `openai`: the Chat Completions `tools` array, `{ "type": "function", "function": { name, description, parameters } }`;
 * - `anthropic`: the Messages API `tools` array, `{ name, description, input_schema }`;
 * - `json-schema`: `{ "<tool>": <a JSON Schema 2020-12 document of its input> }`.
 */
export function formatTools(tools: readonly ToolDefinition[], format: ToolFormat): unknown {
  switch (format) {
    case 'mcp':
      return { tools: tools.map(mcpTool) };
    case 'openai':
      return tools.map((t) => ({
        type: 'function',
        function: { name: t.name, description: t.description, parameters: t.inputSchema },
      }));
    case 'anthropic':
      return tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema }));
    case 'json-schema':
      return Object.fromEntries(
        tools.map((t) => [
          t.name,
          {
            $schema: 'https://json-schema.org/draft/2020-12/schema',
            title: t.name,
            description: t.description,
            ...t.inputSchema,
          },
        ]),
      );
  }
}
