import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEnvelope } from '../../lambdas/core/envelope';
import { PermanentError } from '../../lambdas/core/errors';
import { deliveryIdFor } from '../../lambdas/core/ids';
import { encodeQueueBody, isQueueSafe } from '../../lambdas/core/queue-encoding';
import { parseDeploymentSettings } from '../../lambdas/core/settings';
import { parseDeliveryMessage } from '../../lambdas/dispatcher/message';
import { parseEventsQueueMessage } from '../../lambdas/fanout/messages';
import { integerSurvivesJson } from '../support/integer-oracle';

/**
 * Hostile queue input: whatever lands on the events or deliveries queue (a producer's PutEvents, a
 * hand-made message, a corrupted redrive), parsing either yields a message the handler can fully
 * process or throws PermanentError with a reason, so the record is set aside for the DLQ with a
 * logged reason instead of failing as "transient" on every receive.
 */

const settings = parseDeploymentSettings({});

const deep = (depth: number, open: string, close: string) => `${open.repeat(depth)}1${close.repeat(depth)}`;
/** Any UTF-16 code unit or code point: astral, noncharacters, lone surrogates, controls. */
const anyCodeUnit = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((point) => String.fromCodePoint(point)) },
  { weight: 1, arbitrary: fc.constantFrom('\ufffe', '\uffff', '\ud800', '\udfff', '\u0000', '\u2028', '🙂', '\u{10ffff}') },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);
const jsonish = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: anyCodeUnit }) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 200 }).map((depth) => JSON.parse(deep(depth, '[', ']')) as unknown) },
  { weight: 1, arbitrary: fc.constantFrom(1e300, -5e-324, 12345678901234567890, '', '\u0000', '🙂', null) },
);
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: anyCodeUnit, maxLength: 40 }),
  fc.constantFrom('', '__proto__', 'x'.repeat(300)),
);
const time = fc.oneof(fc.date({ noInvalidDate: false }).map((date) => (Number.isNaN(date.getTime()) ? 'not a date' : date.toISOString())), text, fc.constantFrom('275760-09-13T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00.000Z'));

const eventBridgeBody = fc.record(
  {
    id: text,
    'detail-type': fc.oneof(fc.constantFrom('thread.completed', 'webhook.test'), text),
    source: fc.oneof(fc.constant('hookline'), text),
    time,
    detail: fc.oneof(
      fc.record({ fleetId: fc.oneof(fc.constant('fleet-1'), text), data: jsonish, id: fc.oneof(fc.constant('evt-1'), text) }, { requiredKeys: [] }),
      jsonish,
    ),
  },
  { requiredKeys: [] },
);
const publishedBody = fc.record(
  {
    v: fc.oneof(fc.constant(1), jsonish),
    kind: fc.constantFrom('event', 'replay', 'other'),
    fleetId: fc.oneof(fc.constant('fleet-1'), text),
    event: fc.record({ id: fc.oneof(fc.constant('evt-1'), text), type: fc.oneof(fc.constant('thread.completed'), text), timestamp: time, data: jsonish }, { requiredKeys: [] }),
    subscriptionId: text,
    since: time,
    until: time,
    cursor: text,
  },
  { requiredKeys: [] },
);
const deliveryBody = fc.record(
  {
    v: fc.oneof(fc.constant(1), jsonish),
    deliveryId: fc.oneof(fc.constant('dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD'), text),
    fleetId: fc.oneof(fc.constant('fleet-1'), text),
    subscriptionId: fc.oneof(fc.constant('wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD'), text),
    event: fc.record({ id: fc.oneof(fc.constant('evt-1'), text), type: fc.oneof(fc.constant('thread.completed'), text), timestamp: time, data: jsonish }, { requiredKeys: [] }),
    reason: fc.constantFrom('fanout', 'retry', 'replay', 'test', 'other'),
  },
  { requiredKeys: [] },
);
/** Valid messages whose data nests far deeper than any stack: written as text, never built as values. */
const deepText = (template: (data: string) => string) =>
  fc.integer({ min: 1_000, max: 30_000 }).map((depth) => template(`{"a":${deep(depth, '[', ']')}}`));
const now = new Date().toISOString();
const raw = (body: fc.Arbitrary<unknown>, deepBody: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 5, arbitrary: body.map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: text },
    { weight: 1, arbitrary: fc.constant('{"a":'.repeat(20_000)) },
    { weight: 1, arbitrary: deepBody },
  );
/** Valid in every field but the time and the data, so the fuzz reaches past the shape checks. */
const nearlyValidEvent = fc.oneof(
  fc.record({
    id: fc.uuid(),
    'detail-type': fc.constant('thread.completed'),
    source: fc.constant('hookline'),
    time,
    detail: fc.record({ fleetId: fc.constant('fleet-1'), data: jsonish }),
  }),
  fc.record({
    v: fc.constant(1),
    kind: fc.constant('event'),
    fleetId: fc.constant('fleet-1'),
    event: fc.record({ id: fc.constant('evt-1'), type: fc.constant('thread.completed'), timestamp: time, data: jsonish }),
  }),
);
const deepEvent = fc.oneof(
  deepText((data) => `{"id":"eb-1","detail-type":"thread.completed","source":"hookline","time":"${now}","detail":{"fleetId":"fleet-1","data":${data}}}`),
  deepText((data) => `{"v":1,"kind":"event","fleetId":"fleet-1","event":{"id":"evt-1","type":"thread.completed","timestamp":"${now}","data":${data}}}`),
);
const deepDelivery = deepText(
  (data) =>
    `{"v":1,"deliveryId":"dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD","fleetId":"fleet-1","subscriptionId":"wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD","reason":"fanout","event":{"id":"evt-1","type":"thread.completed","timestamp":"${now}","data":${data}}}`,
);

/** A literal JavaScript would change: integers past 2^53 that do not survive, overflow, underflow, extra digits. */
const inexactLiteral = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '1e-400', '0.10000000000000000001', '9007199254740993', '123456789012345678901234567890'),
  fc.bigInt({ min: 2n ** 53n + 1n, max: 10n ** 40n }).map(String).filter((literal) => !integerSurvivesJson(literal)),
);
/** Messages valid in every way but one number: each must be set aside, never accepted rounded. */
const INEXACT_BODIES = new Set<string>();
const inexactEvent = fc
  .tuple(inexactLiteral, fc.constantFrom('{"n":#}', '{"a":[1,#]}', '{"x":{"y":#},"s":"1e400"}'), fc.boolean())
  .map(([literal, template, viaBus]) => {
    const data = template.replace('#', literal);
    const body = viaBus
      ? `{"id":"eb-1","detail-type":"thread.completed","source":"hookline","time":"${now}","detail":{"fleetId":"fleet-1","data":${data}}}`
      : `{"v":1,"kind":"event","fleetId":"fleet-1","event":{"id":"evt-1","type":"thread.completed","timestamp":"${now}","data":${data}}}`;
    INEXACT_BODIES.add(body);
    return body;
  });

/** What a message the handler accepted must also survive: re-encoding for the next queue, byte-exact. */
function assertTravels(value: unknown): void {
  const encoded = encodeQueueBody(value);
  if (!isQueueSafe(encoded)) throw new Error('an encoded message holds a character SQS refuses');
  if (JSON.stringify(JSON.parse(encoded)) !== JSON.stringify(value)) throw new Error('an encoded message does not decode to the same JSON');
}

/** Runs `parse`; a failure must be a PermanentError, a success must be processable to the end. */
function judge(parse: () => unknown, use: (parsed: never) => void): string | undefined {
  let parsed: unknown;
  try {
    parsed = parse();
  } catch (error) {
    return error instanceof PermanentError ? undefined : `${(error as Error).name}: ${(error as Error).message}`;
  }
  try {
    use(parsed as never);
    return undefined;
  } catch (error) {
    return `accepted, then ${(error as Error).name}: ${(error as Error).message}`;
  }
}

describe('queue input fuzz', () => {
  it('events-queue bodies: accepted and fully usable, or a PermanentError', () => {
    const problems = new Set<string>();
    fc.assert(
      fc.property(fc.oneof({ weight: 6, arbitrary: raw(fc.oneof(eventBridgeBody, publishedBody, nearlyValidEvent, nearlyValidEvent), deepEvent) }, { weight: 1, arbitrary: inexactEvent }), (body) => {
        const problem = judge(
          () => parseEventsQueueMessage(body, settings),
          (message: ReturnType<typeof parseEventsQueueMessage>) => {
            if (INEXACT_BODIES.has(body)) throw new Error('accepted a number JavaScript cannot hold exactly');
            if (message.kind !== 'event') return;
            const { fleetId, event } = message.incoming;
            buildEnvelope(fleetId, event);
            // The fan-out sends it on to the deliveries queue.
            assertTravels({ v: 1, deliveryId: 'dlv_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', fleetId, subscriptionId: 'wh_1', event, reason: 'fanout' });
            // The fan-out derives delivery ids from the event time after storing the event.
            deliveryIdFor(fleetId, event.id, 'wh_01JNKV3Y0RZ8W5T2P4M6Q9B7CD', event.timestamp);
          },
        );
        if (problem !== undefined) problems.add(problem.slice(0, 200));
      }),
      { numRuns: 3_000 },
    );
    expect([...problems]).toEqual([]);
  });

  it('deliveries-queue bodies: accepted and fully usable, or a PermanentError', () => {
    const problems = new Set<string>();
    fc.assert(
      fc.property(raw(deliveryBody, deepDelivery), (body) => {
        const problem = judge(
          () => parseDeliveryMessage(body),
          (message: ReturnType<typeof parseDeliveryMessage>) => {
            buildEnvelope(message.fleetId, message.event);
            // A retry or replay re-sends it.
            assertTravels(message);
          },
        );
        if (problem !== undefined) problems.add(problem.slice(0, 200));
      }),
      { numRuns: 3_000 },
    );
    expect([...problems]).toEqual([]);
  });
});
