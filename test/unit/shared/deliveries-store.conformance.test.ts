import { describeDeliveriesStoreConformance } from '../../support/conformance/deliveries-store';
import { MemoryDeliveriesStore } from '../../support/memory/deliveries-store';

describeDeliveriesStoreConformance('in memory', async () => new MemoryDeliveriesStore());
