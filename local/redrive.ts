/**
 * `npx tsx local/redrive.ts [--events]`: the local equivalent of the SQS console's "Start DLQ
 * redrive" for a running `npm start` (same HOOKLINE_DATA_DIR). Moves every message of the
 * deliveries DLQ (or, with --events, the events DLQ) back to its source queue; each redriven
 * delivery is attempted again as a fresh round with the same delivery id.
 */
import { resolve } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { readInstanceFile } from './instance-file';
import { describeError } from './logger';
import { redriveDlq } from './queues';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--events');
  if (unknown.length > 0) {
    console.error(`redrive: unknown argument ${unknown[0]}; usage: npx tsx local/redrive.ts [--events]`);
    process.exit(2);
  }
  const dataDir = resolve(process.env.HOOKLINE_DATA_DIR?.trim() || '.hookline');
  const instance = readInstanceFile(dataDir);
  if (instance === undefined) {
    console.error(`redrive: no running Hookline uses ${dataDir}; start it with npm start (same HOOKLINE_DATA_DIR)`);
    process.exit(1);
  }
  const events = args.includes('--events');
  const dlqUrl = events ? instance.queues.eventsDlqUrl : instance.queues.deliveriesDlqUrl;
  const sourceUrl = events ? instance.queues.eventsUrl : instance.queues.deliveriesUrl;
  // The SDK's notice about its future Node baseline is not actionable for a local helper.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sqs = new SQSClient({
    region: instance.region,
    endpoint: instance.sqsEndpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const moved = await redriveDlq(sqs, dlqUrl, sourceUrl);
    console.log(`Moved ${moved} message(s) from ${dlqUrl} back to ${sourceUrl}`);
  } catch (error) {
    console.error(`redrive: ${describeError(error)}`);
    process.exitCode = 1;
  } finally {
    sqs.destroy();
  }
}

await main();
