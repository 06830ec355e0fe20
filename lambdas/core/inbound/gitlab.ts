import type { InboundProvider } from './types';
import { jsonOrText, randomToken, reject, safeEqual, stringField, utf8 } from './util';

/**
 * GitLab: the secret token travels as is in `X-Gitlab-Token` (compared in constant time). Event
 * from `X-Gitlab-Event` (`Merge Request Hook` → `merge_request`: the trailing " Hook" dropped, words
 * joined by `_`), delivery id from `X-Gitlab-Event-UUID`, or `Idempotency-Key` that GitLab keeps
 * across its retries of one delivery.
 */
export const gitlab: InboundProvider = {
  id: 'gitlab',
  methods: ['POST'],
  credentials: [
    {
      name: 'token',
      generate: () => randomToken(32, 'glt_'),
      check: (value) => (value.length >= 16 && value.length <= 256 ? undefined : 'must be 16-256 characters long'),
      description: "The secret token to enter in GitLab's webhook settings.",
    },
  ],
  settings: [],
  keptHeaders: ['x-gitlab-event', 'x-gitlab-event-uuid', 'x-gitlab-webhook-uuid', 'x-gitlab-instance', 'idempotency-key'],
  documentedEvents: [
    'push',
    'tag_push',
    'merge_request',
    'issue',
    'note',
    'pipeline',
    'job',
    'deployment',
    'release',
    'wiki_page',
  ],
  async verify(request, { credentials }) {
    const token = request.headers['x-gitlab-token'];
    if (token === undefined || token === '') return reject('no X-Gitlab-Token header');
    // Every set is compared, so the time taken does not say which one matched.
    const matches = credentials.map((set) => set.token !== undefined && safeEqual(token, set.token));
    if (!matches.includes(true)) return reject('X-Gitlab-Token does not match');
    const header = request.headers['x-gitlab-event'];
    const text = utf8(request.body);
    if (text === undefined) return reject('the body is not UTF-8');
    const body = jsonOrText(text);
    const eventName = header ? gitlabEventName(header) : (stringField(body, 'object_kind') ?? '');
    if (eventName === '') return reject('no X-Gitlab-Event header');
    const deliveryId = request.headers['x-gitlab-event-uuid'] || request.headers['idempotency-key'];
    return { kind: 'event', eventName, ...(deliveryId ? { deliveryId } : {}), signature: token, body };
  },
};

/** `Merge Request Hook` → `merge_request`; `System Hook` → `system`. */
export function gitlabEventName(header: string): string {
  return header
    .trim()
    .replace(/\s+hook$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_');
}
