import type { InboundProvider } from './types';
import { jsonOrText, randomToken, reject, safeEqual, stringField, utf8 } from './util';

/**
 * Gerrit (webhooks plugin): the plugin posts the stream-event JSON and signs nothing, so the
 * source holds a shared token that must arrive either in the header the source names (default
 * `X-Gerrit-Token`, for a proxy or a plugin build that adds one) or as the `token` query
 * parameter of the ingest URL (what a stock plugin can send: put it in `remote.<name>.url`).
 * The event is the body's `type` (`patchset-created` → `patchset_created`); no delivery id, so
 * replays are keyed by a hash of the body.
 */
export const gerrit: InboundProvider = {
  id: 'gerrit',
  methods: ['POST'],
  credentials: [
    {
      name: 'token',
      generate: () => randomToken(32, 'grt_'),
      check: (value) => (value.length >= 16 && value.length <= 256 ? undefined : 'must be 16-256 characters long'),
      description: 'The shared token Gerrit must present (header or `token` query parameter).',
    },
  ],
  settings: [
    { name: 'tokenHeader', kind: 'header', default: 'X-Gerrit-Token', description: 'Header carrying the shared token.' },
  ],
  keptHeaders: [],
  documentedEvents: [
    'patchset_created',
    'change_merged',
    'change_abandoned',
    'change_restored',
    'comment_added',
    'ref_updated',
    'reviewer_added',
    'wip_state_changed',
  ],
  async verify(request, { credentials, settings }) {
    const header = String(settings.tokenHeader ?? 'X-Gerrit-Token').toLowerCase();
    const token = request.headers[header] || request.query.token;
    if (token === undefined || token === '') return reject(`no ${header} header or token parameter`);
    const matches = credentials.map((set) => set.token !== undefined && safeEqual(token, set.token));
    if (!matches.includes(true)) return reject('the Gerrit token does not match');
    const text = utf8(request.body);
    if (text === undefined) return reject('the body is not UTF-8');
    const body = jsonOrText(text);
    const type = stringField(body, 'type');
    if (type === undefined || type === '') return reject('the body has no "type"');
    return { kind: 'event', eventName: type, signature: text, body };
  },
};
