import { Fn, type RemovalPolicy } from 'aws-cdk-lib';
import {
  CfnEIP,
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  NatProvider,
  SecurityGroup,
  SubnetType,
  Vpc,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Static egress IPs for deliveries: the dispatcher runs in a VPC whose NAT gateways have Elastic IPs. */
export interface HooklineStaticEgress {
  /**
   * Availability zones, each with its own NAT gateway and Elastic IP (1–3). One is cheaper; two
   * keep deliveries going when an AZ fails. An environment-agnostic stack sees at most two AZs.
   * @default 2
   */
  readonly availabilityZones?: number;
}

export interface HooklineEgressProps extends HooklineStaticEgress {
  readonly logRetention: RetentionDays;
  /** Applied to the Elastic IPs: customers allowlist them, so losing one breaks their firewalls. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * A VPC for the dispatcher: public subnets holding one NAT gateway per AZ, each with an Elastic IP
 * allocated here (so the addresses are known and can be published), private subnets for the
 * function, a DynamoDB gateway endpoint (table traffic skips the NAT and its per-GB charge) and
 * flow logs. Each NAT gateway costs an hourly charge plus a per-GB processing charge.
 */
export class HooklineEgress extends Construct {
  readonly vpc: Vpc;
  readonly securityGroup: SecurityGroup;
  /** The public addresses deliveries leave from. */
  readonly ips: string[];

  constructor(scope: Construct, id: string, props: HooklineEgressProps) {
    super(scope, id);
    const zones = props.availabilityZones ?? 2;
    if (!Number.isInteger(zones) || zones < 1 || zones > 3) {
      throw new Error(`Invalid WebhookService props: staticEgress.availabilityZones: must be an integer from 1 to 3 (got ${JSON.stringify(zones)})`);
    }
    const eips = Array.from({ length: zones }, (_, i) => {
      const eip = new CfnEIP(this, `NatIp${i + 1}`, { domain: 'vpc' });
      eip.applyRemovalPolicy(props.removalPolicy);
      return eip;
    });
    this.ips = eips.map((eip) => eip.ref);
    const flowLogs = new LogGroup(this, 'FlowLogs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: zones,
      natGateways: zones,
      natGatewayProvider: NatProvider.gateway({ eipAllocationIds: eips.map((eip) => eip.attrAllocationId) }),
      subnetConfiguration: [
        { name: 'Nat', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'Dispatcher', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      // Restricting the default security group takes a custom-resource Lambda; nothing uses that group.
      restrictDefaultSecurityGroup: false,
      flowLogs: { All: { destination: FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: FlowLogTrafficType.ALL } },
    });
    this.vpc.addGatewayEndpoint('DynamoDb', { service: GatewayVpcEndpointAwsService.DYNAMODB });
    this.securityGroup = new SecurityGroup(this, 'Dispatcher', {
      vpc: this.vpc,
      description: 'Hookline dispatcher: no inbound; outbound to any receiver port',
      // Receivers listen on any port their URL names.
      allowAllOutbound: true,
    });
  }

  /** The subnets the dispatcher runs in. */
  get subnets(): SubnetSelection {
    return { subnetType: SubnetType.PRIVATE_WITH_EGRESS };
  }

  /** The addresses as one comma-separated string (for an output). */
  get ipList(): string {
    return Fn.join(',', this.ips);
  }
}
