/**
 * The end-to-end test on real AWS, as an `@aws-cdk/integ-tests-alpha` IntegTest: a WebhookService
 * with a short retry schedule, a receiver behind a Lambda function URL that records what it gets
 * (receiver.ts), and a driver (driver.ts) the assertions invoke: it subscribes the receiver,
 * publishes, and reports once a signed delivery, a retry and a DLQ redrive have all arrived.
 * `integ.webhook-service.ts` synthesizes it for `integ-runner`; test/cdk/integ.test.ts checks the
 * synthesized templates in `npm test` (no credentials needed).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { type App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FUNCTION_BUNDLING, FUNCTION_RUNTIME } from '../../lib/functions';
import { LOCK_FILE, PROJECT_ROOT } from '../../lib/paths';
import { WebhookService } from '../../lib/webhook-service';

const HERE = dirname(fileURLToPath(import.meta.url));

/** A short schedule so a whole failed round (and so the DLQ) is reached in about a minute. */
export const INTEG_SETTINGS = {
  eventSource: 'hookline.integ',
  eventCatalog: ['integ.ping'],
  maxAttempts: 2,
  retryDelaysSeconds: [5],
  retryJitter: 0,
} as const;

/** How long the assertions poll for the three outcomes, and how often. */
export const INTEG_WAIT = { totalTimeout: Duration.minutes(30), interval: Duration.seconds(30) };

export interface HooklineInteg {
  integ: IntegTest;
  stack: Stack;
  service: WebhookService;
}

function testFunction(stack: Stack, id: string, file: string, environment: Record<string, string>, timeout: Duration): NodejsFunction {
  return new NodejsFunction(stack, id, {
    entry: join(HERE, file),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: LOCK_FILE,
    runtime: FUNCTION_RUNTIME,
    architecture: Architecture.ARM_64,
    timeout,
    environment,
    bundling: FUNCTION_BUNDLING,
  });
}

export function buildHooklineInteg(app: App): HooklineInteg {
  const stack = new Stack(app, 'HooklineInteg');
  // Everything goes with the stack: integ-runner destroys it after the run.
  const service = new WebhookService(stack, 'Hookline', {
    ...INTEG_SETTINGS,
    removalPolicy: RemovalPolicy.DESTROY,
    deadLetterQueueRemovalPolicy: RemovalPolicy.DESTROY,
  });

  const received = new Table(stack, 'Received', {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    sortKey: { name: 'sk', type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    encryption: TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const receiver = testFunction(stack, 'Receiver', 'receiver.ts', { RECEIVER_TABLE: received.tableName }, Duration.seconds(10));
  received.grantReadWriteData(receiver);
  // Public on purpose: the dispatcher posts to it like to any subscriber, and it only records.
  const receiverUrl = receiver.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });

  const driver = testFunction(
    stack,
    'Driver',
    'driver.ts',
    {
      API_URL: service.apiUrl,
      TOKENS_TABLE: service.tokensTable.tableName,
      RECEIVER_URL: receiverUrl.url,
      RECEIVER_TABLE: received.tableName,
      EVENT_TYPE: INTEG_SETTINGS.eventCatalog[0],
      MAX_ATTEMPTS: String(INTEG_SETTINGS.maxAttempts),
      HEADER_PREFIX: 'X-Webhook',
      DLQ_URL: service.deliveriesDlq.queueUrl,
      DLQ_ARN: service.deliveriesDlq.queueArn,
    },
    Duration.seconds(60),
  );
  service.tokensTable.grantWriteData(driver);
  received.grantReadWriteData(driver);
  service.grantRedrive(driver);

  const integ = new IntegTest(app, 'HooklineIntegTest', {
    testCases: [stack],
    // The test creates its own data and the stack is destroyed after it: nothing to keep.
    cdkCommandOptions: { destroy: { args: { force: true } } },
  });
  const start = integ.assertions.invokeFunction({ functionName: driver.functionName, payload: JSON.stringify({ action: 'start' }) });
  start.expect(ExpectedResult.objectLike({ StatusCode: 200 }));
  const outcome = integ.assertions.invokeFunction({ functionName: driver.functionName, payload: JSON.stringify({ action: 'check' }) });
  // The driver answers "PASS" (a JSON string) once the receiver saw a signed delivery, a retry and a redrive.
  outcome.expect(ExpectedResult.objectLike({ Payload: '"PASS"' })).waitForAssertions(INTEG_WAIT);
  start.next(outcome);
  return { integ, stack, service };
}
