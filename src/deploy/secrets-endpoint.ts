/**
 * The guide's Next Steps, "Enable AWS Secrets Manager": with the password in a secret
 * (`database.secretArn`), the function must reach Secrets Manager from private subnets, through a
 * NAT gateway or an interface VPC endpoint. Asked for (`vpc.secretsManagerEndpoint`), this step
 * makes the endpoint: one network interface per availability zone of the function's subnets,
 * private DNS on (so the SDK's usual name resolves to it), and its own security group admitting
 * HTTPS only from the Lambda security group. An endpoint for the service that someone else made is
 * used as it is. Switched off, the next deploy removes what this step made; so does destroy.
 */
import {
  authorizeRules,
  createSecurityGroup,
  createVpcEndpoint,
  deleteSecurityGroup,
  deleteVpcEndpoints,
  findSecurityGroupsByName,
  findVpcEndpoints,
  revokeRules,
  type SecurityGroupState,
  type SgRule,
  type SubnetInfo,
  type VpcEndpointInfo,
} from '../aws/ec2.js';
import { resolveRegion } from '../aws/sts.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import { waitForNetworkInterfacesGone } from './network.js';
import { createOrUpdate, item, optInItem, type PlanItem } from './plan.js';
import { defineStep, type StepEnv } from './step.js';

const STEP = 'secrets-endpoint';
const HTTPS = 443;

export interface SecretsEndpointDesired {
  enabled: boolean;
  vpcId: string;
  serviceName: string;
  /** The Name tag that marks the endpoint chatbot-ops made. */
  endpointName: string;
  groupName: string;
  lambdaSecurityGroupId: string;
  usesSecret: boolean;
  tags: Record<string, string>;
}

export interface SecretsEndpointCurrent {
  endpoints: VpcEndpointInfo[];
  subnets: SubnetInfo[];
  group: SecurityGroupState | undefined;
}

export const secretsManagerService = (region: string) => `com.amazonaws.${region}.secretsmanager`;
const endpointName = (config: ChatbotConfig) => `${config.function.name}-secretsmanager`;
const groupName = (config: ChatbotConfig) => `${config.function.name}-secrets-endpoint`;

/** The configured VPC's endpoints for Secrets Manager, read once per run (deploy and destroy share it). */
export const readSecretsEndpoints = (d: Deployment): Promise<VpcEndpointInfo[]> =>
  d.cached('secretsEndpoints', async () => {
    const vpcId = d.config.vpc.vpcId;
    return vpcId ? findVpcEndpoints(d.aws.ec2, vpcId, secretsManagerService(await resolveRegion(d.aws))) : [];
  });

const live = (e: VpcEndpointInfo) => e.state !== 'deleted' && e.state !== 'deleting';
const ours = (endpoints: VpcEndpointInfo[], name: string) =>
  endpoints.find((e) => live(e) && e.tags.Name === name);
/** An endpoint someone else made that already serves the VPC (private DNS on). */
const theirs = (endpoints: VpcEndpointInfo[], name: string) =>
  endpoints.find((e) => live(e) && e.tags.Name !== name && e.privateDns);

const httpsFrom = (groupId: string): SgRule => ({ protocol: 'tcp', fromPort: HTTPS, toPort: HTTPS, groupId });
const sameRule = (a: SgRule, b: SgRule) =>
  a.protocol === b.protocol && a.fromPort === b.fromPort && a.toPort === b.toPort && a.groupId === b.groupId;

/** One subnet per availability zone (an interface endpoint takes at most one per zone), in id order. */
export function endpointSubnets(subnets: SubnetInfo[]): string[] {
  const byZone = new Map<string, string>();
  for (const s of [...subnets].sort((a, b) => a.id.localeCompare(b.id)))
    if (!byZone.has(s.az)) byZone.set(s.az, s.id);
  return [...byZone.values()].sort();
}

export function planSecretsEndpoint(
  current: SecretsEndpointCurrent,
  desired: SecretsEndpointDesired,
): PlanItem[] {
  const mine = ours(current.endpoints, desired.endpointName);
  if (!desired.enabled) {
    return [
      ...optInItem(
        STEP,
        'VPC endpoint',
        `${desired.endpointName}${mine ? ` (${mine.id})` : ''}`,
        false,
        mine !== undefined,
      ),
      ...optInItem(STEP, 'security group', desired.groupName, false, current.group !== undefined),
    ];
  }
  const other = theirs(current.endpoints, desired.endpointName);
  if (other && !mine)
    return [
      item(
        STEP,
        'VPC endpoint',
        `${desired.serviceName} (${other.id}, not made by chatbot-ops)`,
        'unchanged',
      ),
    ];
  const group = current.group;
  const admits = group?.ingress.some((r) => sameRule(r, httpsFrom(desired.lambdaSecurityGroupId))) ?? false;
  return [
    createOrUpdate(
      STEP,
      'security group',
      group ? `${desired.groupName} (${group.id})` : desired.groupName,
      group !== undefined,
      admits
        ? []
        : [
            {
              field: 'ingress',
              from: group ? group.ingress.length : null,
              to: `TCP 443 from ${desired.lambdaSecurityGroupId}`,
            },
          ],
    ),
    createOrUpdate(
      STEP,
      'VPC endpoint',
      mine ? `${desired.endpointName} (${mine.id})` : desired.endpointName,
      mine !== undefined,
      mine
        ? []
        : [
            { field: 'service', from: null, to: desired.serviceName },
            { field: 'subnets', from: null, to: endpointSubnets(current.subnets) },
            { field: 'private DNS', from: null, to: true },
          ],
    ),
  ];
}

/** Remove the endpoint, then its group once the endpoint's network interfaces are gone. */
async function removeEndpoint(
  env: StepEnv,
  endpoint: VpcEndpointInfo | undefined,
  group: SecurityGroupState | undefined,
) {
  if (endpoint) await deleteVpcEndpoints(env.aws.ec2, [endpoint.id]);
  if (!group) return;
  await waitForNetworkInterfacesGone(env, group.id);
  if ((await deleteSecurityGroup(env.aws.ec2, group.id)) === 'in-use')
    throw new UserError(`the security group ${group.id} is still in use`, {
      hint: `Something else refers to it: aws ec2 describe-network-interfaces --filters Name=group-id,Values=${group.id}; then run the command again.`,
    });
}

export const secretsEndpointStep = defineStep({
  name: STEP,
  command: 'secrets-endpoint',
  title: 'Secrets Manager VPC endpoint',
  guideStep: 'Next Steps 1',
  description:
    'An interface VPC endpoint for Secrets Manager in the function subnets, HTTPS from the Lambda group only (vpc.secretsManagerEndpoint)',
  needs: ['network'],
  desired: (ctx): SecretsEndpointDesired => {
    const { config } = ctx.inputs;
    return {
      enabled: config.vpc.secretsManagerEndpoint,
      vpcId: config.vpc.vpcId ?? '',
      serviceName: secretsManagerService(ctx.session.region),
      endpointName: endpointName(config),
      groupName: groupName(config),
      lambdaSecurityGroupId: ctx.refs.get('lambdaSecurityGroupId'),
      usesSecret: config.database.secretArn !== undefined,
      tags: config.tags,
    };
  },
  read: async (d, desired): Promise<SecretsEndpointCurrent> => {
    const endpoints = await readSecretsEndpoints(d);
    const needGroup = desired.enabled || ours(endpoints, desired.endpointName) !== undefined;
    const [subnets, group] = await Promise.all([
      desired.enabled ? d.subnets() : Promise.resolve([]),
      needGroup && desired.vpcId
        ? // A name is unique within a VPC: one group at most.
          findSecurityGroupsByName(d.aws.ec2, desired.vpcId, desired.groupName).then((g) => g[0])
        : undefined,
    ]);
    return { endpoints, subnets, group };
  },
  plan: (current, desired) => planSecretsEndpoint(current, desired),
  warnings: (_current, desired) =>
    desired.enabled && !desired.usesSecret
      ? [
          'vpc.secretsManagerEndpoint is on but database.secretArn is not set: the function does not read a secret, so the endpoint only costs money',
        ]
      : [],
  async apply(env, current, desired, _items, ctx) {
    const { ec2 } = env.aws;
    const mine = ours(current.endpoints, desired.endpointName);
    if (!desired.enabled) {
      env.progress('removing the Secrets Manager endpoint (its network interfaces take a minute to go)');
      await removeEndpoint(env, mine, current.group);
      return undefined;
    }
    const lambdaGroup = ctx.refs.require('lambdaSecurityGroupId', 'the Secrets Manager endpoint');
    let groupId = current.group?.id;
    if (!groupId) {
      groupId = await createSecurityGroup(ec2, {
        vpcId: desired.vpcId,
        name: desired.groupName,
        description: 'Secrets Manager endpoint: HTTPS from the chatbot Lambda only (managed by chatbot-ops)',
        tags: desired.tags,
      });
      // The endpoint answers; it never starts a connection, so EC2's default allow-all egress goes.
      await revokeRules(ec2, groupId, 'egress', [{ protocol: '-1', cidr: '0.0.0.0/0' }]);
    }
    await authorizeRules(
      ec2,
      groupId,
      'ingress',
      [httpsFrom(lambdaGroup)],
      'chatbot Lambda to Secrets Manager',
    );
    if (!mine) {
      await createVpcEndpoint(ec2, {
        type: 'Interface',
        vpcId: desired.vpcId,
        serviceName: desired.serviceName,
        subnetIds: endpointSubnets(current.subnets),
        securityGroupIds: [groupId],
        privateDns: true,
        tags: { Name: desired.endpointName, ...desired.tags },
      });
    }
    return undefined;
  },
  failureHint: () =>
    'Private DNS for an interface endpoint needs the VPC attributes enableDnsSupport and enableDnsHostnames on (aws ec2 modify-vpc-attribute).',
  destroy: {
    read: async (
      d,
    ): Promise<{ endpoint: VpcEndpointInfo | undefined; group: SecurityGroupState | undefined }> => {
      const endpoint = ours(await readSecretsEndpoints(d), endpointName(d.config));
      const group = d.config.vpc.vpcId
        ? (await findSecurityGroupsByName(d.aws.ec2, d.config.vpc.vpcId, groupName(d.config)))[0]
        : undefined;
      return { endpoint, group };
    },
    plan: (found, config) => [
      ...(found.endpoint
        ? [item(STEP, 'VPC endpoint', `${endpointName(config)} (${found.endpoint.id})`, 'delete')]
        : []),
      ...(found.group
        ? [item(STEP, 'security group', `${found.group.name} (${found.group.id})`, 'delete')]
        : []),
    ],
    async apply(env, found) {
      env.removing(`the Secrets Manager endpoint ${found.endpoint?.id ?? ''}`);
      await removeEndpoint(env, found.endpoint, found.group);
    },
  },
});
