/**
 * IAM, narrowed to the Lambda execution role: find, create, update trust and tags, managed and
 * inline policies, delete. Policy documents come back from IAM URL-encoded: they are decoded
 * here, so callers only ever see parsed JSON. Nothing here prints.
 */
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { pagesOf } from './pages.js';

export type PolicyDocument = { Version?: string; Statement: unknown[] | unknown; [k: string]: unknown };

export interface RoleState {
  name: string;
  arn: string;
  trustPolicy: PolicyDocument | undefined;
  tags: Record<string, string>;
}

/** IAM returns policy documents URL-encoded (RFC 3986); some emulators return them plain. */
export function decodePolicyDocument(text: string | undefined): PolicyDocument | undefined {
  if (text === undefined || text === '') return undefined;
  const plain = text.trimStart().startsWith('{') ? text : decodeURIComponent(text);
  return JSON.parse(plain) as PolicyDocument;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** One statement of a policy document, as far as the doctor's least-privilege checks read it. */
export interface IamStatement {
  Effect?: string;
  Action?: unknown;
  Resource?: unknown;
}

/** A statement's Action or Resource as a list of strings (IAM takes one value or a list). */
export const policyValues = (v: unknown): string[] => asList(v).map(String);

/** A document's statements (IAM takes one statement or a list). */
export function policyStatements(doc: unknown): IamStatement[] {
  return asList((doc as { Statement?: unknown } | undefined)?.Statement).filter(Boolean) as IamStatement[];
}

/** Sort arrays of scalars and keys of objects, make single values lists where IAM allows either. */
function canonical(value: unknown, key = ''): unknown {
  const listKeys = new Set(['Statement', 'Action', 'NotAction', 'Resource', 'NotResource']);
  if (listKeys.has(key) || Array.isArray(value)) {
    const items = asList(value).map((v) => canonical(v));
    return items.every((v) => typeof v === 'string') ? [...(items as string[])].sort() : items;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      // Principal {Service: "x"} and {Service: ["x"]} mean the same.
      const v = (value as Record<string, unknown>)[k];
      out[k] = typeof v === 'string' && key === 'Principal' ? [v] : canonical(v, k);
    }
    return out;
  }
  return value;
}

/**
 * Semantic equality of two policy documents: IAM reorders nothing, but people (and emulators) write
 * "Action": "x" or ["x"], and keys in any order. Statement order is kept (Sid-less statements).
 */
export function samePolicyDocument(a: PolicyDocument | undefined, b: PolicyDocument | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** The role, or undefined when it does not exist. */
export async function findRole(iam: IAMClient, name: string): Promise<RoleState | undefined> {
  try {
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: name }));
    if (!Role?.Arn) return undefined;
    return {
      name,
      arn: Role.Arn,
      trustPolicy: decodePolicyDocument(Role.AssumeRolePolicyDocument),
      tags: Object.fromEntries((Role.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    };
  } catch (err) {
    if (err instanceof NoSuchEntityException) return undefined;
    throw err;
  }
}

export async function createRole(
  iam: IAMClient,
  role: { name: string; trustPolicy: PolicyDocument; description: string; tags: Record<string, string> },
): Promise<string> {
  const { Role } = await iam.send(
    new CreateRoleCommand({
      RoleName: role.name,
      AssumeRolePolicyDocument: JSON.stringify(role.trustPolicy),
      Description: role.description,
      Tags: Object.entries(role.tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  return Role?.Arn ?? '';
}

export async function updateTrustPolicy(
  iam: IAMClient,
  name: string,
  trustPolicy: PolicyDocument,
): Promise<void> {
  await iam.send(
    new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: JSON.stringify(trustPolicy) }),
  );
}

export async function tagRole(iam: IAMClient, name: string, tags: Record<string, string>): Promise<void> {
  await iam.send(
    new TagRoleCommand({
      RoleName: name,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}

/** ARNs of the managed policies attached to the role (all pages). */
export async function listAttachedPolicyArns(iam: IAMClient, role: string): Promise<string[]> {
  const arns: string[] = [];
  for await (const page of paginateListAttachedRolePolicies(pagesOf(iam), { RoleName: role }))
    for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn) arns.push(p.PolicyArn);
  return arns;
}

export async function attachPolicy(iam: IAMClient, role: string, policyArn: string): Promise<void> {
  await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: policyArn }));
}

/** Detach; a policy that is no longer attached is fine. */
export async function detachPolicy(iam: IAMClient, role: string, policyArn: string): Promise<void> {
  try {
    await iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: policyArn }));
  } catch (err) {
    if (!(err instanceof NoSuchEntityException)) throw err;
  }
}

/** Names of the role's inline policies (all pages). */
export async function listInlinePolicyNames(iam: IAMClient, role: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListRolePolicies(pagesOf(iam), { RoleName: role }))
    names.push(...(page.PolicyNames ?? []));
  return names;
}

/** An inline policy's document (decoded), or undefined when the role has no policy by that name. */
export async function getInlinePolicy(
  iam: IAMClient,
  role: string,
  policyName: string,
): Promise<PolicyDocument | undefined> {
  try {
    const out = await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: policyName }));
    return decodePolicyDocument(out.PolicyDocument);
  } catch (err) {
    if (err instanceof NoSuchEntityException) return undefined;
    throw err;
  }
}

export async function putInlinePolicy(
  iam: IAMClient,
  role: string,
  policyName: string,
  document: PolicyDocument,
): Promise<void> {
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: role,
      PolicyName: policyName,
      PolicyDocument: JSON.stringify(document),
    }),
  );
}

export async function deleteInlinePolicy(iam: IAMClient, role: string, policyName: string): Promise<void> {
  try {
    await iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: policyName }));
  } catch (err) {
    if (!(err instanceof NoSuchEntityException)) throw err;
  }
}

/**
 * Delete the role after detaching its managed policies and deleting its inline ones (IAM refuses
 * to delete a role that still has either). Returns false when there was no role.
 */
export async function deleteRoleCompletely(iam: IAMClient, role: string): Promise<boolean> {
  if (!(await findRole(iam, role))) return false;
  for (const arn of await listAttachedPolicyArns(iam, role)) await detachPolicy(iam, role, arn);
  for (const name of await listInlinePolicyNames(iam, role)) await deleteInlinePolicy(iam, role, name);
  try {
    await iam.send(new DeleteRoleCommand({ RoleName: role }));
  } catch (err) {
    if (err instanceof NoSuchEntityException) return false;
    throw err;
  }
  return true;
}
