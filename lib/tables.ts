import type { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption, type Attribute } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import {
  DELIVERIES_TABLE,
  EVENTS_TABLE,
  SUBSCRIPTIONS_TABLE,
  TOKENS_TABLE,
  type KeyAttribute,
  projectionOf,
  type TableSchema,
} from '../lambdas/core/table-schema';

export interface HooklineTablesProps {
  readonly removalPolicy: RemovalPolicy;
  /** Absent: the AWS managed key. */
  readonly encryptionKey?: IKey;
}

/** A table with the schema it was built from, so grants can name its indexes. */
export interface HooklineTable {
  readonly table: Table;
  readonly schema: TableSchema;
}

function attribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

/**
 * The four DynamoDB tables, built from `lambdas/core/table-schema.ts` (the same data local mode
 * builds its tables from): on-demand, point-in-time recovery, encrypted with KMS.
 */
export class HooklineTables extends Construct {
  readonly subscriptions: HooklineTable;
  readonly events: HooklineTable;
  readonly deliveries: HooklineTable;
  readonly tokens: HooklineTable;

  constructor(scope: Construct, id: string, props: HooklineTablesProps) {
    super(scope, id);
    this.subscriptions = this.build(SUBSCRIPTIONS_TABLE, props);
    this.events = this.build(EVENTS_TABLE, props);
    this.deliveries = this.build(DELIVERIES_TABLE, props);
    this.tokens = this.build(TOKENS_TABLE, props);
  }

  private build(schema: TableSchema, props: HooklineTablesProps): HooklineTable {
    const table = new Table(this, schema.logicalName, {
      partitionKey: attribute(schema.partitionKey),
      sortKey: schema.sortKey === undefined ? undefined : attribute(schema.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: props.encryptionKey === undefined ? TableEncryption.AWS_MANAGED : TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      timeToLiveAttribute: schema.timeToLiveAttribute,
      removalPolicy: props.removalPolicy,
    });
    for (const index of schema.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey === undefined ? undefined : attribute(index.sortKey),
        projectionType: ProjectionType[projectionOf(index).type],
        ...(projectionOf(index).nonKeyAttributes === undefined ? {} : { nonKeyAttributes: projectionOf(index).nonKeyAttributes }),
      });
    }
    return { table, schema };
  }
}
