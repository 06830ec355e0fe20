import { TokensStore } from '../../lambdas/shared/tokens-store';
import { describeTokensStoreConformance } from '../support/conformance/tokens-store';
import { useDynalite } from '../support/dynalite-tables';

const dynalite = useDynalite('tokens');

// Each case lists the whole table, so each gets tables of its own.
describeTokensStoreConformance('DynamoDB on dynalite', async () => {
  const names = await dynalite.freshTables();
  return new TokensStore(dynalite.doc(), names.get('Tokens') as string);
});
