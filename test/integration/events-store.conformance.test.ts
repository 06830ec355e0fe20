import { afterAll, beforeAll } from 'vitest';
import { EventsStore } from '../../lambdas/shared/events-store';
import { describeEventsStoreConformance } from '../support/conformance/events-store';
import { startDynalite, type Dynalite } from '../support/dynalite-tables';

let dynalite: Dynalite;
let store: EventsStore;

beforeAll(async () => {
  dynalite = await startDynalite();
  const names = await dynalite.tables('conformance');
  store = new EventsStore(dynalite.doc, names.get('Events') as string);
});

afterAll(async () => {
  await dynalite?.close();
});

describeEventsStoreConformance('DynamoDB on dynalite', () => store);
