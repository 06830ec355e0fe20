import { DeliveriesStore } from '../../lambdas/shared/deliveries-store';
import { describeDeliveriesStoreConformance } from '../support/conformance/deliveries-store';
import { useDynalite } from '../support/dynalite-tables';

const dynalite = useDynalite('deliveries');

// Each case lists a subscription's deliveries through the indexes, so each gets tables of its own.
describeDeliveriesStoreConformance('DynamoDB on dynalite', async () => {
  const names = await dynalite.freshTables();
  return new DeliveriesStore(dynalite.doc(), names.get('Deliveries') as string);
});
