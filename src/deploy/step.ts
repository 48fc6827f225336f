/**
 * What a deploy step is. Each step is one object (made with `defineStep` in its own file) that says
 * everything `deploy`, its own command, `status`, `destroy` and the help need: its name, command,
 * title, guide step, description and options; which steps' ids it needs and which id it provides;
 * its desired state from the config (pure), how to read the current state through the deployment
 * model, how to plan (pure) and apply; and how to remove what it made. The steps run in the order
 * of the list in src/deploy/steps.ts. How to add one: docs/deploy.md, "Adding a deploy step".
 */
import type { AwsClients } from '../aws/clients.js';
import type { AwsSession } from '../aws/sts.js';
import type { Timing } from '../aws/timing.js';
import { describeCommand } from '../cli/catalog.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import type { FunctionCode } from './code.js';
import { type PlanItem, pending } from './plan.js';

/** A command-line option of a step, on its own command and on `deploy` (or on `destroy`). */
export interface StepOption {
  /** Commander's spelling: `--zip <file>`, `--redeploy`. */
  flags: string;
  description: string;
}

/** What a run gives every step: the config, the code and secrets prepared for it, and its flags. */
export interface DeployInputs {
  config: ChatbotConfig;
  /** The zip to deploy; undefined: code not compared (status without a package). */
  code: FunctionCode | undefined;
  /** The database password, or undefined when Secrets Manager is used or it is unknown here. */
  dbPassword: string | undefined;
  /** The value a new API key gets, generated before planning so the function's API_KEYS is final in one pass; '' when no key is to be made. */
  newKeyValue: string;
  /** The run's command-line flags, by commander's camelCase name; a step reads its own options. */
  flags?: Readonly<Record<string, unknown>>;
}

/**
 * Ids one step hands to later ones (the role's ARN, the security group's id...). While planning,
 * an id not known until an earlier step creates its resource is pending, shown as `<new name>`.
 */
export class Refs {
  private readonly ids = new Map<string, { id: string; known: boolean }>();

  /** An id that exists, or that follows from the config (a role's ARN from its name). */
  set(ref: string, id: string): void {
    this.ids.set(ref, { id, known: true });
  }

  /** An id that only AWS will choose, when an earlier step creates the resource `label`. */
  pending(ref: string, label: string): void {
    this.ids.set(ref, { id: pending(label), known: false });
  }

  /** The id, or its `<new …>` placeholder: fit for a plan, not for an AWS call. */
  get(ref: string): string {
    const entry = this.ids.get(ref);
    if (!entry) throw new Error(`no deploy step provides "${ref}"`);
    return entry.id;
  }

  known(ref: string): boolean {
    return this.ids.get(ref)?.known === true;
  }

  /** The id for an AWS call; a programming error when it is still pending. */
  require(ref: string, who: string): string {
    if (!this.known(ref)) throw new Error(`${who} needs ${ref}, which is not known yet`);
    return this.get(ref);
  }
}

/** What desired states and plans are computed from. */
export interface StepContext {
  inputs: DeployInputs;
  session: AwsSession;
  refs: Refs;
}

/** What applying works with: the AWS clients and session, timing (tests pass a fast one), a spinner. */
export interface StepEnv {
  aws: AwsClients;
  session: AwsSession;
  timing: Timing;
  /** Update the current step's spinner text ("waiting for the role to propagate…"). */
  progress: (text: string) => void;
}

/** What removing works with: as applying, plus where the removal stands, for an error message. */
export interface DestroyEnv extends StepEnv {
  /** Say what is being removed now ("REST API a1b2c3"), so a failure names it. */
  removing: (what: string) => void;
  /** Tell the user something about the removal when it is done ("deleted 1,204 objects"). */
  report?: (text: string) => void;
}

export interface StepDefinition<Desired, Current, Removal> {
  /** Short name; plan items carry it (`function`). */
  name: string;
  /** The command that runs this step alone (`create-function`). */
  command: string;
  /** What it manages, for spinners and messages (`Lambda function`). */
  title: string;
  /** The step of the manual deployment guide it replaces ('' for one the guide does not have: the ingest path). */
  guideStep: string;
  /**
   * The command's one line of help, when not its line in src/cli/catalog.ts (where `--help` reads it
   * without loading the steps). Only a step outside src/deploy/steps.ts (a test's) gives one: a
   * listed step's command must match the catalog (test/cli/commands.test.ts).
   */
  description?: string;
  /** Options of its command, also accepted by `deploy`; read them from `inputs.flags`. */
  options?: StepOption[];
  /** Steps whose ids this one needs: read with it when it runs alone, and "run X first" when missing. */
  needs?: string[];
  /** It deploys the function code: a run that includes it packages the zip (or reads `--zip`). */
  usesCode?: boolean;
  /** The id this step hands on, under the name `ref`, and the kind of plan item of that resource. */
  provides?: {
    ref: string;
    kind: string;
    /** Its id in what was read; undefined while it does not exist. */
    idIn(current: Current): string | undefined;
    /** Before it exists: the id it will have when the config decides it (a role's ARN), else a label for `<new …>`. */
    predict(config: ChatbotConfig, session: AwsSession): { id: string } | { pending: string };
  };
  /** The state the config asks for. Pure; throws a UserError for a config that cannot be deployed. */
  desired(ctx: StepContext): Desired;
  /** What exists now, read through the deployment model (cached: steps share reads). */
  read(deployment: Deployment, desired: Desired): Promise<Current>;
  /** The changes, as plain data. Pure. */
  plan(current: Current, desired: Desired, ctx: StepContext): PlanItem[];
  /** Things to warn about that do not stop the deploy (a public subnet). Pure. */
  warnings?(current: Current, desired: Desired): string[];
  /** Make AWS match the plan; returns the provided id when the step provides one. */
  apply(
    env: StepEnv,
    current: Current,
    desired: Desired,
    items: PlanItem[],
    ctx: StepContext,
  ): Promise<string | undefined>;
  /** Values for the report after a run (a secret such as the key value is printed only when asked). */
  outputs?(current: Current, ctx: StepContext): Record<string, string>;
  /** Advice to add when applying failed, given the plan it was applying. */
  failureHint?(items: PlanItem[]): string | undefined;
  /** How `destroy` removes what this step made. Steps are removed in the reverse of their order. */
  destroy?: {
    options?: StepOption[];
    read(deployment: Deployment): Promise<Removal>;
    /** What goes, as `delete` items. Pure. */
    plan(found: Removal, config: ChatbotConfig, flags: Readonly<Record<string, unknown>>): PlanItem[];
    apply(
      env: DestroyEnv,
      found: Removal,
      config: ChatbotConfig,
      flags: Readonly<Record<string, unknown>>,
    ): Promise<void>;
  };
}

/** A step read and ready to plan and apply. */
export interface ReadStep {
  /** Its id in what was read, undefined while the resource does not exist. */
  providedId(): string | undefined;
  plan(ctx: StepContext): PlanItem[];
  warnings(ctx: StepContext): string[];
  apply(env: StepEnv, ctx: StepContext, items: PlanItem[]): Promise<string | undefined>;
  outputs(ctx: StepContext): Record<string, string>;
}

/** A step's removal, read and ready to list and remove. */
export interface ReadRemoval {
  plan(config: ChatbotConfig, flags: Readonly<Record<string, unknown>>): PlanItem[];
  apply(env: DestroyEnv, config: ChatbotConfig, flags: Readonly<Record<string, unknown>>): Promise<void>;
}

/** A step as the runners see it: the same whatever its own types. */
export interface DeployStep {
  readonly name: string;
  readonly command: string;
  readonly title: string;
  readonly guideStep: string;
  /** The command's one line of help (see StepDefinition.description). */
  readonly description: string;
  readonly options: readonly StepOption[];
  readonly destroyOptions: readonly StepOption[];
  readonly needs: readonly string[];
  readonly usesCode: boolean;
  failureHint(items: PlanItem[]): string | undefined;
  readonly provides:
    | { ref: string; kind: string; initial(refs: Refs, config: ChatbotConfig, session: AwsSession): void }
    | undefined;
  /** The desired state first (it may refuse the config before any read is sent), then the read. */
  prepare(ctx: StepContext): { read(deployment: Deployment): Promise<ReadStep> };
  readRemoval(deployment: Deployment): Promise<ReadRemoval> | undefined;
}

/** Make a step from its definition (the types stay inside; the runners need not know them). */
export function defineStep<Desired, Current, Removal = never>(
  def: StepDefinition<Desired, Current, Removal>,
): DeployStep {
  const { provides, destroy } = def;
  return {
    name: def.name,
    command: def.command,
    title: def.title,
    guideStep: def.guideStep,
    description: def.description ?? describeCommand(def.command),
    options: def.options ?? [],
    destroyOptions: destroy?.options ?? [],
    needs: def.needs ?? [],
    usesCode: def.usesCode ?? false,
    failureHint: (items) => def.failureHint?.(items),
    provides: provides && {
      ref: provides.ref,
      kind: provides.kind,
      initial(refs, config, session) {
        const p = provides.predict(config, session);
        if ('id' in p) refs.set(provides.ref, p.id);
        else refs.pending(provides.ref, p.pending);
      },
    },
    prepare(ctx) {
      const first = def.desired(ctx);
      return {
        async read(deployment) {
          const current = await def.read(deployment, first);
          return {
            providedId: () => provides?.idIn(current),
            plan: (c) => def.plan(current, def.desired(c), c),
            warnings: (c) => def.warnings?.(current, def.desired(c)) ?? [],
            apply: (env, c, items) => def.apply(env, current, def.desired(c), items, c),
            outputs: (c) => def.outputs?.(current, c) ?? {},
          };
        },
      };
    },
    readRemoval(deployment) {
      if (!destroy) return undefined;
      return destroy.read(deployment).then((found) => ({
        plan: (config, flags) => destroy.plan(found, config, flags),
        apply: (env, config, flags) => destroy.apply(env, found, config, flags),
      }));
    },
  };
}
