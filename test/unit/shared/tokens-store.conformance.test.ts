import { describeTokensStoreConformance } from '../../support/conformance/tokens-store';
import { MemoryTokensStore } from '../../support/memory/tokens-store';

describeTokensStoreConformance('in memory', async () => new MemoryTokensStore());
