/**
 * Every top-level command as `chatbot-ops --help` lists it: which module registers it, its term
 * (name, `[options]` when it has any, arguments) and its one line. The help is built from this list
 * alone, so it loads no command module: the deploy steps bring the AWS SDK, more than a second of
 * start-up. Each module takes its command's description from here (`describeCommand`), and
 * test/cli/commands.test.ts checks that the modules register exactly these commands and terms. A new
 * command or deploy step needs its line here.
 */

/** The modules of src/commands/ (src/commands/index.ts loads them). */
export type CommandModuleName =
  | 'db'
  | 'cost'
  | 'logs'
  | 'doctor'
  | 'rotate-key'
  | 'deploy'
  | 'status'
  | 'destroy'
  | 'package'
  | 'local'
  | 'invoke'
  | 'test'
  | 'mcp'
  | 'tools';

export interface CommandSummary {
  name: string;
  module: CommandModuleName;
  /** As commander shows it in the list: `invoke [options] [intent]`. */
  term: string;
  description: string;
}

export const COMMAND_SUMMARIES: readonly CommandSummary[] = [
  {
    name: 'db',
    module: 'db',
    term: 'db',
    description:
      'the access-log database: create the schema, load logs, seed synthetic traffic, show statistics',
  },
  {
    name: 'cost',
    module: 'cost',
    term: 'cost [options]',
    description: "the guide's monthly cost estimate for a request volume (list prices, assumptions shown)",
  },
  {
    name: 'logs',
    module: 'logs',
    term: 'logs [options]',
    description: "the function's CloudWatch log events, rendered readably (--json: raw events)",
  },
  {
    name: 'doctor',
    module: 'doctor',
    term: 'doctor [options]',
    description: "check the deployment against the guide's Troubleshooting and Security Checklist",
  },
  {
    name: 'rotate-key',
    module: 'rotate-key',
    term: 'rotate-key [options]',
    description: 'new API key beside the old one (both accepted); --finish retires the old one',
  },
  {
    name: 'deploy',
    module: 'deploy',
    term: 'deploy [options]',
    description:
      'Create or update everything in AWS as one plan (guide steps 2-8): role, network, function, API, key, alarms, and the Next Steps the config switches on',
  },
  {
    name: 'create-role',
    module: 'deploy',
    term: 'create-role [options]',
    description:
      'IAM role for the function: trust policy, network-interface access, logs policy scoped to its log group (guide step 2)',
  },
  {
    name: 'configure-vpc',
    module: 'deploy',
    term: 'configure-vpc [options]',
    description:
      'Lambda security group (MySQL to RDS only) and the RDS ingress rule; checks the subnets (guide step 4)',
  },
  {
    name: 'create-function',
    module: 'deploy',
    term: 'create-function [options]',
    description: 'Create or update the Lambda function and its log group (guide step 3)',
  },
  {
    name: 'create-api',
    module: 'deploy',
    term: 'create-api [options]',
    description:
      'REST API with POST /<resource>, API key required, Lambda proxy integration, deployment (guide step 5)',
  },
  {
    name: 'create-usage-plan',
    module: 'deploy',
    term: 'create-usage-plan [options]',
    description: 'API key and usage plan with throttle, quota, stage and key (guide step 6)',
  },
  {
    name: 'alarms',
    module: 'deploy',
    term: 'alarms [options]',
    description: 'CloudWatch alarms for Lambda errors, API 4XX and API 5XX (guide step 8)',
  },
  {
    name: 'create-ingest-role',
    module: 'deploy',
    term: 'create-ingest-role [options]',
    description:
      "The ingest function's own IAM role: its log group, the logs bucket's prefix, its result documents and failure queue only",
  },
  {
    name: 'configure-ingest-vpc',
    module: 'deploy',
    term: 'configure-ingest-vpc [options]',
    description:
      "The ingest function's security group (MySQL to RDS, HTTPS to S3) and an S3 gateway endpoint on its subnets' route tables",
  },
  {
    name: 'create-logs-bucket',
    module: 'deploy',
    term: 'create-logs-bucket [options]',
    description:
      'The S3 bucket the ingest function loads logs from: private, encrypted, optional expiry and ALB log delivery',
  },
  {
    name: 'create-ingest-function',
    module: 'deploy',
    term: 'create-ingest-function [options]',
    description:
      'Create or update the ingest function, its log group, failure queue (2 retries, then SQS) and errors alarm',
  },
  {
    name: 'create-ingest-trigger',
    module: 'deploy',
    term: 'create-ingest-trigger [options]',
    description:
      "The bucket's ObjectCreated notification to the ingest function (prefix and suffixes from the config), and S3's permission to invoke it",
  },
  {
    name: 'secrets-endpoint',
    module: 'deploy',
    term: 'secrets-endpoint [options]',
    description:
      'An interface VPC endpoint for Secrets Manager in the function subnets, HTTPS from the Lambda group only (vpc.secretsManagerEndpoint)',
  },
  {
    name: 'concurrency',
    module: 'deploy',
    term: 'concurrency [options]',
    description:
      "Reserve the function's concurrency (function.reservedConcurrency), which bounds its database connections",
  },
  {
    name: 'tracing',
    module: 'deploy',
    term: 'tracing [options]',
    description:
      'X-Ray active tracing on the function and the API stage, and the role permission it needs (tracing.enabled)',
  },
  {
    name: 'access-logs',
    module: 'deploy',
    term: 'access-logs [options]',
    description:
      "The API stage's access logs as JSON in their own log group, with retention (accessLogs.enabled)",
  },
  {
    name: 'waf',
    module: 'deploy',
    term: 'waf [options]',
    description:
      "A regional WAF web ACL (rate limit per address, AWS's common rule set) on the API stage (waf.enabled)",
  },
  {
    name: 'dashboard',
    module: 'deploy',
    term: 'dashboard [options]',
    description: "A CloudWatch dashboard of the function's and the API's metrics (dashboard.enabled)",
  },
  {
    name: 'create-ingest',
    module: 'deploy',
    term: 'create-ingest [options]',
    description:
      'The whole ingest path: its role, network (S3 gateway endpoint), logs bucket, function, failure queue, alarm and bucket notification',
  },
  {
    name: 'status',
    module: 'status',
    term: 'status [options]',
    description: 'What is deployed, per resource: ok, missing, or drifted with the differing fields',
  },
  {
    name: 'destroy',
    module: 'destroy',
    term: 'destroy [options]',
    description:
      "Remove everything deploy created (the Next Steps' resources, alarms, usage plan, key, API, function, log groups, security groups, role); never the database",
  },
  {
    name: 'package',
    module: 'package',
    term: 'package [options]',
    description:
      'bundle src/lambda with esbuild and zip it into lambda_function.zip (same source, same bytes)',
  },
  {
    name: 'local',
    module: 'local',
    term: 'local',
    description:
      'run the whole backend on 127.0.0.1: MariaDB, the packaged function, an API Gateway stand-in',
  },
  {
    name: 'invoke',
    module: 'invoke',
    term: 'invoke [options] [intent]',
    description: 'call the chatbot API with one intent (deployed API by default; --local, --url or --direct)',
  },
  {
    name: 'test',
    module: 'test',
    term: 'test [options]',
    description:
      'smoke-test the API: documented answers, and refusals without a key, with a wrong key and bad requests',
  },
  {
    name: 'mcp',
    module: 'mcp',
    term: 'mcp [options]',
    description:
      'serve the backend as MCP tools for a language model (stdio; --http PORT for Streamable HTTP)',
  },
  {
    name: 'tools',
    module: 'tools',
    term: 'tools [options]',
    description: "print the tool definitions for a language model, from the backend's list_intents",
  },
];

/** A command's one line of help; a name not in the list is a programming error. */
export function describeCommand(name: string): string {
  const found = COMMAND_SUMMARIES.find((c) => c.name === name);
  if (!found) throw new Error(`src/cli/catalog.ts has no line for the command ${name}`);
  return found.description;
}
