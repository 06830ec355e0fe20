import type { DeploymentSettings } from '../core/settings';
import { CONSOLE_FILES, CONSOLE_HTML } from './console-assets.generated';
import type { ApiResult } from './http';
import { routeNotFound } from './router';
import { defineRoute, type RouteSpec } from './route';

/**
 * The console's security headers. Scripts and styles come only from this origin (no inline code,
 * no eval), requests go only to this API, and nothing may frame the console unless the deployment
 * names the origins that embed portal links.
 */
export function consoleSecurityHeaders(settings: Pick<DeploymentSettings, 'consoleFrameAncestors'>): Record<string, string> {
  const ancestors = settings.consoleFrameAncestors.length === 0 ? "'none'" : settings.consoleFrameAncestors.join(' ');
  return {
    'content-security-policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "font-src 'none'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      `frame-ancestors ${ancestors}`,
    ].join('; '),
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
    ...(settings.consoleFrameAncestors.length === 0 ? { 'x-frame-options': 'DENY' } : {}),
  };
}

/**
 * `GET /console` and its hashed assets, embedded in the API bundle at build time (no CDN, no other
 * origin). The page references its assets relative to `/console`, so it works under an API Gateway
 * stage or a custom domain's base path alike.
 */
export function consoleAppRoutes(settings: DeploymentSettings): RouteSpec[] {
  const security = consoleSecurityHeaders(settings);

  const page = defineRoute({
    method: 'GET',
    path: '/console',
    operationId: 'getConsole',
    summary: 'The web console',
    description: 'A single-page app for operators (with a token) and customers (with a portal-session link).',
    tag: 'Console',
    public: true,
    resource: 'fleet',
    responses: [{ status: 200, description: 'The console page (text/html).' }],
    async handle({ request }): Promise<ApiResult> {
      // `/console/` would resolve the relative asset URLs one level too deep.
      if (request.path.endsWith('/')) {
        return { statusCode: 308, headers: { location: '../console', 'cache-control': 'no-store' }, text: '' };
      }
      return {
        statusCode: 200,
        headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', ...security },
        text: CONSOLE_HTML,
      };
    },
  });

  const asset = defineRoute({
    method: 'GET',
    path: '/console/{asset}',
    operationId: 'getConsoleAsset',
    summary: 'A console asset',
    tag: 'Console',
    public: true,
    undocumented: true,
    resource: 'fleet',
    responses: [{ status: 200, description: 'A script or stylesheet of the console.' }],
    async handle({ params }) {
      const file = Object.hasOwn(CONSOLE_FILES, params.asset as string) ? CONSOLE_FILES[params.asset as string] : undefined;
      if (file === undefined) throw routeNotFound();
      return {
        statusCode: 200,
        // Names carry a content hash, so a file never changes under its name.
        headers: { 'content-type': file.type, 'cache-control': 'public, max-age=31536000, immutable', ...security },
        text: file.body,
      };
    },
  });

  return [page, asset];
}
