import { SubscriptionsStore } from '../../lambdas/shared/subscriptions-store';
import { describeSubscriptionsStoreConformance } from '../support/conformance/subscriptions-store';
import { useDynalite } from '../support/dynalite-tables';

const dynalite = useDynalite('subscriptions');

// Each case lists the whole table, so each gets tables of its own.
describeSubscriptionsStoreConformance('DynamoDB on dynalite', async () => {
  const names = await dynalite.freshTables();
  return new SubscriptionsStore(dynalite.doc(), names.get('Subscriptions') as string);
});
