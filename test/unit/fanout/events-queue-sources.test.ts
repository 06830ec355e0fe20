import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../lambdas/core/errors';
import { EVENTS_QUEUE_SOURCES, parseEventsQueueMessage } from '../../../lambdas/fanout/messages';
import { testSettings } from '../../support/handler-harness';

const settings = testSettings();
const examples: Record<string, object> = {
  'an EventBridge event': {
    id: 'eb-1',
    'detail-type': 'thread.completed',
    source: settings.eventSource,
    time: '2026-01-01T00:00:00Z',
    detail: { fleetId: 'fleet_a', data: { n: 1 } },
  },
  'a published event': {
    v: 1,
    kind: 'event',
    fleetId: 'fleet_a',
    event: { id: 'evt_1', type: 'thread.completed', timestamp: '2026-01-01T00:00:00Z', data: { n: 1 } },
  },
  'a replay job': {
    v: 1,
    kind: 'replay',
    fleetId: 'fleet_a',
    subscriptionId: 'wh_1',
    since: '2026-01-01T00:00:00Z',
    until: '2026-01-02T00:00:00Z',
  },
};

describe('events-queue sources', () => {
  it('has an example here for every registered source', () => {
    expect(EVENTS_QUEUE_SOURCES.map((source) => source.description).sort()).toEqual(Object.keys(examples).sort());
  });

  it.each(Object.entries(examples))('%s is recognised by its own source only', (description, raw) => {
    const recognising = EVENTS_QUEUE_SOURCES.filter((source) => source.recognises(raw)).map((source) => source.description);
    expect(recognising).toEqual([description]);
    expect(() => parseEventsQueueMessage(JSON.stringify(raw), settings)).not.toThrow();
  });

  it('every event source yields one internal form, checked alike: an unknown type is refused from any of them', () => {
    const eventBridge = { ...examples['an EventBridge event'], 'detail-type': 'no.such.type' };
    const published = examples['a published event'] as { event: object };
    const publishedUnknown = { ...published, event: { ...published.event, type: 'no.such.type' } };
    for (const raw of [eventBridge, publishedUnknown]) {
      expect(() => parseEventsQueueMessage(JSON.stringify(raw), settings)).toThrow(/not in the event catalog/);
    }
    const fromBus = parseEventsQueueMessage(JSON.stringify(examples['an EventBridge event']), settings);
    expect(fromBus).toEqual({
      kind: 'event',
      incoming: {
        fleetId: 'fleet_a',
        source: 'eventbridge',
        event: { id: 'evt_eb-1', type: 'thread.completed', timestamp: '2026-01-01T00:00:00.000Z', data: { n: 1 } },
      },
    });
  });

  it('names every source when none recognises a message', () => {
    expect(() => parseEventsQueueMessage('{"kind":"other"}', settings)).toThrow(PermanentError);
    expect(() => parseEventsQueueMessage('{"kind":"other"}', settings)).toThrow(
      'message is neither an EventBridge event, a published event nor a replay job',
    );
  });
});
