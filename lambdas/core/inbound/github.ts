import { verify as verifyGithubSignature } from '@octokit/webhooks-methods';
import type { InboundProvider } from './types';
import { parseBody, randomToken, reject, utf8 } from './util';

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`, checked with GitHub's
 * own @octokit/webhooks-methods. Event name in `X-GitHub-Event`, delivery id (also sent again by a
 * manual "Redeliver") in `X-GitHub-Delivery`. GitHub signs no timestamp, so replays are caught by
 * the delivery id alone.
 */
export const github: InboundProvider = {
  id: 'github',
  methods: ['POST'],
  credentials: [
    {
      name: 'secret',
      generate: () => randomToken(32, 'ghs_'),
      check: (value) => (value.length >= 16 && value.length <= 256 ? undefined : 'must be 16-256 characters long'),
      description: 'The webhook secret to enter in GitHub (Settings → Webhooks → Secret).',
    },
  ],
  settings: [],
  keptHeaders: [
    'x-github-event',
    'x-github-delivery',
    'x-github-hook-id',
    'x-github-hook-installation-target-type',
    'x-github-hook-installation-target-id',
  ],
  documentedEvents: [
    'ping',
    'push',
    'pull_request',
    'pull_request_review',
    'issues',
    'issue_comment',
    'release',
    'workflow_run',
    'check_run',
    'create',
    'delete',
  ],
  async verify(request, { credentials }) {
    const signature = request.headers['x-hub-signature-256'];
    if (signature === undefined || signature === '') return reject('no X-Hub-Signature-256 header');
    const text = utf8(request.body);
    if (text === undefined || text === '') return reject('the body is empty or not UTF-8');
    let verified = false;
    for (const set of credentials) {
      const secret = set.secret;
      if (secret !== undefined && (await verifyGithubSignature(secret, text, signature))) verified = true;
    }
    if (!verified) return reject('X-Hub-Signature-256 does not match');
    const event = request.headers['x-github-event'];
    if (event === undefined || event === '') return reject('no X-GitHub-Event header');
    const deliveryId = request.headers['x-github-delivery'];
    return {
      kind: 'event',
      eventName: event,
      ...(deliveryId ? { deliveryId } : {}),
      signature,
      body: parseBody(request, text),
    };
  },
};
