import { describe, expect, it } from 'vitest';
import { isKnownEventType, subscriptionMatches, validateSubscriptionEvents } from '../../../lambdas/core/catalog';
import { DEFAULT_EVENT_CATALOG, TEST_EVENT_TYPE } from '../../../lambdas/core/settings';

const catalog = DEFAULT_EVENT_CATALOG;

describe('isKnownEventType', () => {
  it('knows the catalog and nothing else', () => {
    for (const type of catalog) expect(isKnownEventType(type, catalog)).toBe(true);
    for (const type of ['thread.unknown', 'THREAD.COMPLETED', '', 'thread.completed ', TEST_EVENT_TYPE]) {
      expect(isKnownEventType(type, catalog)).toBe(false);
    }
  });

  it('never knows webhook.test, even in a catalog that lists it', () => {
    expect(isKnownEventType(TEST_EVENT_TYPE, [...catalog, TEST_EVENT_TYPE])).toBe(false);
  });
});

describe('subscriptionMatches', () => {
  it('matches every type when events is absent or empty', () => {
    for (const type of catalog) {
      expect(subscriptionMatches({ enabled: true }, type)).toBe(true);
      expect(subscriptionMatches({ enabled: true, events: [] }, type)).toBe(true);
    }
  });

  it('matches only the listed types', () => {
    const sub = { enabled: true, events: ['thread.completed', 'approval.requested'] };
    expect(subscriptionMatches(sub, 'thread.completed')).toBe(true);
    expect(subscriptionMatches(sub, 'approval.requested')).toBe(true);
    expect(subscriptionMatches(sub, 'thread.failed')).toBe(false);
  });

  it('never matches a disabled subscription', () => {
    expect(subscriptionMatches({ enabled: false }, 'thread.completed')).toBe(false);
    expect(subscriptionMatches({ enabled: false, events: ['thread.completed'] }, 'thread.completed')).toBe(false);
  });

  it('never fans out webhook.test', () => {
    expect(subscriptionMatches({ enabled: true }, TEST_EVENT_TYPE)).toBe(false);
    expect(subscriptionMatches({ enabled: true, events: [TEST_EVENT_TYPE] }, TEST_EVENT_TYPE)).toBe(false);
  });
});

describe('validateSubscriptionEvents', () => {
  it('accepts catalog types', () => {
    expect(validateSubscriptionEvents([], catalog)).toEqual([]);
    expect(validateSubscriptionEvents(['thread.completed', 'agent.created'], catalog)).toEqual([]);
  });

  it('names each unknown, duplicate or reserved entry by index', () => {
    expect(
      validateSubscriptionEvents(
        ['thread.completed', 'thread.exploded', 'thread.completed', TEST_EVENT_TYPE, 'thread.exploded'],
        catalog,
      ),
    ).toEqual([
      { field: 'events[1]', reason: 'unknown event type "thread.exploded"' },
      { field: 'events[2]', reason: 'duplicate event type "thread.completed"' },
      { field: 'events[3]', reason: 'webhook.test cannot be subscribed to; it is sent only by the test route' },
      { field: 'events[4]', reason: 'duplicate event type "thread.exploded"' },
    ]);
  });

  it('uses the deployment catalog it is given', () => {
    expect(validateSubscriptionEvents(['order.paid'], ['order.paid'])).toEqual([]);
    expect(validateSubscriptionEvents(['thread.completed'], ['order.paid'])).toHaveLength(1);
  });
});
