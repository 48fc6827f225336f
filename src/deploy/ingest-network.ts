/**
 * The ingest function's network. A function in a private subnet has no route to S3, so:
 *
 * - an S3 gateway VPC endpoint on the route table of every subnet the function uses (an existing
 *   gateway endpoint for S3 in the VPC is reused, and the route tables it lacks are added to it;
 *   gateway endpoints cost nothing);
 * - the function's own security group (`ingest.securityGroupName`), whose only egress is TCP 3306
 *   to the RDS group and TCP 443 to S3's managed prefix list (`com.amazonaws.<region>.s3`, the
 *   addresses the endpoint's routes lead to), plus HTTPS anywhere when its login is a Secrets
 *   Manager secret (as the API function's group, docs/decisions.md); and the RDS group's ingress
 *   TCP 3306 from it.
 *
 * Decision: a group of its own rather than the API function's group, so that the internet-facing
 * API function keeps its one egress rule (MySQL to RDS) and cannot reach S3, and so that each
 * group has exactly the rules its step manages (the network step removes any rule it did not ask
 * for).
 *
 * destroy removes the RDS group's rule and the group (once Lambda has released the function's
 * network interfaces), and the endpoint only when chatbot-ops created it (its tag says so): an
 * endpoint that was there before stays, with the route tables added to it, since other things in
 * the VPC may now route through them.
 */
import {
  addEndpointRouteTables,
  createVpcEndpoint,
  deleteVpcEndpoints,
  findManagedPrefixList,
  findSecurityGroupsByName,
  findVpcEndpoints,
  liveEndpoint,
  type SecurityGroupState,
  type SgRule,
  type SubnetInfo,
  type SubnetRouting,
  type VpcEndpointInfo,
} from '../aws/ec2.js';
import type { AwsSession } from '../aws/sts.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { UserError } from '../errors.js';
import { ingestNames, PURPOSE_TAG, readIngestNames } from './ingest-names.js';
import { ingestSecretArn } from './ingest-role.js';
import {
  applyFunctionGroup,
  checkNetwork,
  desiredNetwork,
  type FunctionGroupRemoval,
  type FunctionGroupShape,
  mysqlFrom,
  type NetworkDesired,
  planFunctionGroup,
  planFunctionGroupRemoval,
  removeFunctionGroup,
} from './network.js';
import { item, type PlanItem } from './plan.js';
import { defineStep, type StepEnv } from './step.js';

const ENDPOINT_PURPOSE = 'ingest-s3-endpoint';
const STEP = 'ingest-network';

export interface IngestNetworkDesired {
  vpc: NetworkDesired;
  groupName: string;
  /** `com.amazonaws.<region>.s3`: the endpoint's service and the prefix list's name. */
  s3Service: string;
  httpsEgress: boolean;
  endpointTags: Record<string, string>;
}

export interface IngestNetworkCurrent {
  subnets: SubnetInfo[];
  routing: Map<string, SubnetRouting>;
  group: SecurityGroupState | undefined;
  rdsGroup: SecurityGroupState | undefined;
  /** S3 gateway endpoints of the VPC. */
  endpoints: VpcEndpointInfo[];
  prefixListId: string | undefined;
}

export function desiredIngestNetwork(config: ChatbotConfig, session: AwsSession): IngestNetworkDesired {
  const n = ingestNames(config, session);
  return {
    vpc: desiredNetwork(config),
    groupName: config.ingest.securityGroupName,
    s3Service: n.s3Service,
    httpsEgress: ingestSecretArn(config) !== undefined,
    endpointTags: { ...config.tags, [PURPOSE_TAG]: ENDPOINT_PURPOSE, Name: `${n.functionName}-s3` },
  };
}

/** The ingest function's security group, by its configured name in the VPC: read once per run. */
export function readIngestGroup(d: Deployment): Promise<SecurityGroupState | undefined> {
  const { vpcId } = d.config.vpc;
  const name = d.config.ingest.securityGroupName;
  // A name is unique within a VPC: one group at most.
  return d.cached(`sg:${name}`, async () => (await findSecurityGroupsByName(d.aws.ec2, vpcId, name))[0]);
}

/** The VPC's S3 gateway endpoints, read once per run. */
export function readS3Endpoints(d: Deployment, s3Service: string): Promise<VpcEndpointInfo[]> {
  const { vpcId } = d.config.vpc;
  return d.cached('s3-endpoints', () =>
    vpcId
      ? findVpcEndpoints(d.aws.ec2, vpcId, s3Service, 'Gateway').then((all) => all.filter(liveEndpoint))
      : Promise.resolve([]),
  );
}

export async function readIngestNetwork(
  d: Deployment,
  desired: IngestNetworkDesired,
): Promise<IngestNetworkCurrent> {
  const [subnets, routing, group, rdsGroup, endpoints, prefixListId] = await Promise.all([
    d.subnets(),
    d.subnetRouting(),
    readIngestGroup(d),
    d.rdsSecurityGroup(),
    readS3Endpoints(d, desired.s3Service),
    d.cached('s3-prefix-list', () => findManagedPrefixList(d.aws.ec2, desired.s3Service)),
  ]);
  return { subnets, routing, group, rdsGroup, endpoints, prefixListId };
}

/** The route tables the function's subnets use, each once, sorted. */
export function routeTablesOf(routing: Map<string, SubnetRouting>, subnetIds: string[]): string[] {
  return [
    ...new Set(
      subnetIds.flatMap((id) =>
        routing.get(id)?.routeTableId ? [routing.get(id)?.routeTableId as string] : [],
      ),
    ),
  ].sort();
}

/** The endpoint to use: ours when there is one, else the first the VPC has. */
export function chosenEndpoint(endpoints: VpcEndpointInfo[]): VpcEndpointInfo | undefined {
  return endpoints.find((e) => e.tags[PURPOSE_TAG] === ENDPOINT_PURPOSE) ?? endpoints[0];
}

/** The egress the ingest group must have, and nothing else. */
export function ingestEgress(desired: IngestNetworkDesired, prefixListId: string): SgRule[] {
  return [
    mysqlFrom(desired.vpc.rdsSecurityGroupId),
    { protocol: 'tcp', fromPort: 443, toPort: 443, prefixListId },
    ...(desired.httpsEgress ? [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '0.0.0.0/0' }] : []),
  ];
}

const groupShape = (desired: IngestNetworkDesired): FunctionGroupShape => ({
  groupName: desired.groupName,
  vpcId: desired.vpc.vpcId,
  rdsSecurityGroupId: desired.vpc.rdsSecurityGroupId,
  tags: desired.vpc.tags,
  description: 'chatbot ingest Lambda: MySQL to the RDS group, HTTPS to S3 (managed by chatbot-ops)',
  egressDescription: 'chatbot ingest Lambda',
  admissionDescription: 'chatbot ingest Lambda (chatbot-ops)',
});

function prefixListOf(current: IngestNetworkCurrent, desired: IngestNetworkDesired): string {
  if (!current.prefixListId)
    throw new UserError(`S3's managed prefix list ${desired.s3Service} was not found in this region`, {
      hint: 'Every AWS region has it; against an emulator, check that it models EC2 managed prefix lists (DescribeManagedPrefixLists).',
    });
  return current.prefixListId;
}

/** What the shared security-group code needs: the groups as they are, the shape, the egress. */
const groupParts = (current: IngestNetworkCurrent, desired: IngestNetworkDesired) =>
  [
    current.group,
    current.rdsGroup,
    groupShape(desired),
    ingestEgress(desired, prefixListOf(current, desired)),
  ] as const;

export function planIngestNetwork(current: IngestNetworkCurrent, desired: IngestNetworkDesired): PlanItem[] {
  const { errors } = checkNetwork(
    { subnets: current.subnets, publicSubnetIds: [], lambdaGroup: current.group, rdsGroup: current.rdsGroup },
    desired.vpc,
  );
  if (errors.length > 0)
    throw new UserError(`the VPC settings do not fit the account: ${errors.join('; ')}`, {
      hint: 'Fix vpc.vpcId, vpc.subnetIds and vpc.rdsSecurityGroupId in the config (or run `chatbot-ops deploy --interactive`).',
    });
  const items = planFunctionGroup(STEP, ...groupParts(current, desired));
  const tables = routeTablesOf(current.routing, desired.vpc.subnetIds);
  const endpoint = chosenEndpoint(current.endpoints);
  if (!endpoint) {
    items.push(
      item(STEP, 'S3 gateway endpoint', desired.s3Service, 'create', [
        { field: 'route tables', from: null, to: tables },
      ]),
    );
  } else {
    const missing = tables.filter((t) => !endpoint.routeTableIds.includes(t));
    const ours = endpoint.tags[PURPOSE_TAG] === ENDPOINT_PURPOSE;
    items.push(
      item(
        STEP,
        'S3 gateway endpoint',
        `${endpoint.id}${ours ? '' : ' (existing, shared)'}`,
        missing.length > 0 ? 'update' : 'unchanged',
        missing.length > 0
          ? [
              {
                field: 'route tables',
                from: endpoint.routeTableIds,
                to: [...endpoint.routeTableIds, ...missing].sort(),
              },
            ]
          : [],
      ),
    );
  }
  return items;
}

/** Make the group, the RDS rule and the endpoint match; returns the group's id. */
export async function applyIngestNetwork(
  env: StepEnv,
  current: IngestNetworkCurrent,
  desired: IngestNetworkDesired,
): Promise<string> {
  const { ec2 } = env.aws;
  const groupId = await applyFunctionGroup(env, ...groupParts(current, desired));
  const tables = routeTablesOf(current.routing, desired.vpc.subnetIds);
  const endpoint = chosenEndpoint(current.endpoints);
  if (!endpoint) {
    env.progress(`S3 gateway endpoint on ${tables.join(', ')}`);
    await createVpcEndpoint(ec2, {
      type: 'Gateway',
      vpcId: desired.vpc.vpcId,
      serviceName: desired.s3Service,
      routeTableIds: tables,
      tags: desired.endpointTags,
    });
  } else {
    await addEndpointRouteTables(
      ec2,
      endpoint.id,
      tables.filter((t) => !endpoint.routeTableIds.includes(t)),
    );
  }
  return groupId;
}

interface IngestNetworkRemoval extends FunctionGroupRemoval {
  /** The endpoint chatbot-ops made, if any. */
  endpoint: VpcEndpointInfo | undefined;
}

export const ingestNetworkStep = defineStep({
  name: STEP,
  command: 'configure-ingest-vpc',
  title: 'Ingest network',
  guideStep: '',
  description:
    "The ingest function's security group (MySQL to RDS, HTTPS to S3) and an S3 gateway endpoint on its subnets' route tables",
  provides: {
    ref: 'ingestSecurityGroupId',
    kind: 'security group',
    idIn: (current: IngestNetworkCurrent) => current.group?.id,
    predict: (config) => ({ pending: config.ingest.securityGroupName }),
  },
  desired: (ctx) => desiredIngestNetwork(ctx.inputs.config, ctx.session),
  read: (d, desired) =>
    d.config.ingest.enabled
      ? readIngestNetwork(d, desired)
      : Promise.resolve({
          subnets: [],
          routing: new Map(),
          group: undefined,
          rdsGroup: undefined,
          endpoints: [],
          prefixListId: undefined,
        }),
  plan: (current, desired, ctx) =>
    ctx.inputs.config.ingest.enabled ? planIngestNetwork(current, desired) : [],
  apply: (env, current, desired) => applyIngestNetwork(env, current, desired),
  destroy: {
    read: async (d): Promise<IngestNetworkRemoval> => {
      const names = await readIngestNames(d);
      const [group, rdsGroup, endpoints] = await Promise.all([
        readIngestGroup(d),
        d.rdsSecurityGroup(),
        readS3Endpoints(d, names.s3Service),
      ]);
      return { group, rdsGroup, endpoint: endpoints.find((e) => e.tags[PURPOSE_TAG] === ENDPOINT_PURPOSE) };
    },
    plan: (found) => [
      ...planFunctionGroupRemoval(STEP, found),
      ...(found.endpoint ? [item(STEP, 'S3 gateway endpoint', found.endpoint.id, 'delete')] : []),
    ],
    async apply(env, found) {
      await removeFunctionGroup(env, found);
      if (found.endpoint) {
        env.removing(`S3 gateway endpoint ${found.endpoint.id}`);
        await deleteVpcEndpoints(env.aws.ec2, [found.endpoint.id]);
      }
    },
  },
});
