/**
 * The plan as plain data: for each resource a deploy step manages, whether it will be created,
 * changed (and which fields, from what to what), deleted, or left alone. Pure: `--dry-run`,
 * `status` and `--json` all print this.
 */

/** A deploy step's name (`function`); the steps are listed in src/deploy/steps.ts. */
export type StepName = string;

export type PlanAction = 'create' | 'update' | 'delete' | 'unchanged';

export interface FieldChange {
  field: string;
  /** Shown to the user: secrets are already redacted here ("(hidden)"). */
  from: unknown;
  to: unknown;
}

export interface PlanItem {
  step: StepName;
  /** What kind of resource: "IAM role", "security group", "Lambda function"… */
  kind: string;
  /** Its name or id. */
  resource: string;
  action: PlanAction;
  changes: FieldChange[];
}

/** How a plan shows an id not known until an earlier step creates the resource (see Refs). */
export function pending(what: string): string {
  return `<new ${what}>`;
}

export function item(
  step: StepName,
  kind: string,
  resource: string,
  action: PlanAction,
  changes: FieldChange[] = [],
): PlanItem {
  return { step, kind, resource, action, changes };
}

/** Create when absent, update when some field changed, unchanged otherwise. */
export function createOrUpdate(
  step: StepName,
  kind: string,
  resource: string,
  exists: boolean,
  changes: FieldChange[],
): PlanItem {
  return item(
    step,
    kind,
    resource,
    !exists ? 'create' : changes.length > 0 ? 'update' : 'unchanged',
    changes,
  );
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The fields of `desired` whose value differs in `current` (each compared as JSON). */
export function diffFields<T extends object>(
  current: Partial<T> | undefined,
  desired: T,
  fields: (keyof T)[],
): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const f of fields) {
    const from = current?.[f];
    if (!same(from, desired[f])) changes.push({ field: String(f), from: from ?? null, to: desired[f] });
  }
  return changes;
}

export function hasChanges(items: PlanItem[]): boolean {
  return items.some((i) => i.action !== 'unchanged');
}

/** How `status` names an action: the state the resource is in now. */
export function statusOf(action: PlanAction): 'missing' | 'drifted' | 'ok' | 'extra' {
  return action === 'create'
    ? 'missing'
    : action === 'update'
      ? 'drifted'
      : action === 'delete'
        ? 'extra'
        : 'ok';
}

/** A value for a plan line: text as it is (steps write it for people), anything else as JSON, cut at 80. */
const short = (v: unknown): string => {
  if (typeof v === 'string') return v;
  const s = JSON.stringify(v);
  return s === undefined ? '-' : s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** Plan lines for people: "+ create", "~ update (field: from → to)", "= unchanged". */
export function formatPlan(items: PlanItem[]): string[] {
  const mark = { create: '+', update: '~', delete: '-', unchanged: '=' } as const;
  const lines: string[] = [];
  for (const i of items) {
    lines.push(`  ${mark[i.action]} ${i.action.padEnd(9)} ${i.kind} ${i.resource}`);
    for (const c of i.changes) {
      lines.push(
        i.action === 'create'
          ? `        ${c.field}: ${short(c.to)}`
          : i.action === 'delete'
            ? `        ${c.field}: ${short(c.from)}`
            : `        ${c.field}: ${short(c.from)} → ${short(c.to)}`,
      );
    }
  }
  return lines;
}

/** "3 to create, 1 to change, 12 unchanged". */
export function summarizePlan(items: PlanItem[]): string {
  const n = (a: string) => items.filter((i) => i.action === a).length;
  const parts = [
    `${n('create')} to create`,
    `${n('update')} to change`,
    ...(n('delete') > 0 ? [`${n('delete')} to delete`] : []),
    `${n('unchanged')} unchanged`,
  ];
  return parts.join(', ');
}

/**
 * The item of something an opt-in in the config adds (a setting or a resource): `create` when it is
 * wanted and absent, `delete` when it is there and no longer wanted, `update` when wanted, there,
 * and `changes` says it differs; no item at all when it is neither wanted nor there, so a plan
 * with every opt-in off shows nothing of them.
 */
export function optInItem(
  step: StepName,
  kind: string,
  resource: string,
  wanted: boolean,
  present: boolean,
  changes: FieldChange[] = [],
): PlanItem[] {
  if (wanted) return [createOrUpdate(step, kind, resource, present, changes)];
  return present ? [item(step, kind, resource, 'delete')] : [];
}
