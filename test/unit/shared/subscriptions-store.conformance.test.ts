import { describeSubscriptionsStoreConformance } from '../../support/conformance/subscriptions-store';
import { MemorySubscriptionsStore } from '../../support/memory/subscriptions-store';

describeSubscriptionsStoreConformance('in memory', async () => new MemorySubscriptionsStore());
