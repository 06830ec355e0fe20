import { afterAll, beforeAll } from 'vitest';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import { describeTokensStoreConformance } from '../support/conformance/tokens-store';
import { startDynalite, type Dynalite } from '../support/dynalite-tables';

let dynalite: Dynalite;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
});

afterAll(async () => {
  await dynalite?.close();
});

// Each case lists the whole table, so each gets tables of its own.
describeTokensStoreConformance('DynamoDB on dynalite', async () => {
  const names = await dynalite.tables(`tokens${(tables += 1)}`);
  return new TokensStore(dynalite.doc, names.get('Tokens') as string);
});
