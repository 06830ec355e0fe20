import { describeEventsStoreConformance } from '../../support/conformance/events-store';
import { MemoryEventsStore } from '../../support/memory/events-store';

const store = new MemoryEventsStore();
describeEventsStoreConformance('in memory', () => store);
