/**
 * `chatbot-ops/client`: what the package exports for programs that call the chatbot API
 * (package.json "exports" points here, built into build/client/). Only the client and its types:
 * nothing of the CLI, the AWS SDK or the backend is loaded by importing it.
 */
export type { ApiResponse } from './api-client.js';
export {
  ChatbotApiError,
  ChatbotClient,
  type ChatbotClientOptions,
  type IntentAnswer,
  type RequestOptions,
  type SendOptions,
} from './chatbot-client.js';
export type * from './intent-types.js';
