import { afterAll, beforeAll } from 'vitest';
import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { describeSubscriptionsStoreConformance } from '../support/conformance/subscriptions-store';
import { startDynalite, type Dynalite } from '../support/dynalite-tables';

let dynalite: Dynalite;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
});

afterAll(async () => {
  await dynalite?.close();
});

// Each case scans the whole table, so each gets tables of its own.
describeSubscriptionsStoreConformance('DynamoDB on dynalite', async () => {
  const names = await dynalite.tables(`subscriptions${(tables += 1)}`);
  return new SubscriptionsStore(dynalite.doc, names.get('Subscriptions') as string);
});
