import { ClientError } from '../core/errors';
import { MethodNotAllowedError } from './http';

/** A path template such as `/fleets/{fleetId}/webhooks/{id}`; placeholders match one segment. */
export interface Routable {
  method: string;
  path: string;
}

export interface RouteMatch<R extends Routable> {
  route: R;
  params: Record<string, string>;
}

type Segment = { literal: string } | { param: string };

export function routeNotFound(): ClientError {
  return new ClientError(404, 'not_found', 'No such route.', [{ field: 'path', reason: 'does not name an API route' }]);
}

/**
 * Matches method + path against route templates. A path that fits some template but not with this
 * method is a 405 naming the methods that would work; a path that fits none is a 404.
 */
export class Router<R extends Routable> {
  private readonly compiled: { route: R; segments: Segment[] }[];

  constructor(routes: readonly R[]) {
    this.compiled = routes.map((route) => ({ route, segments: compile(route.path) }));
  }

  match(method: string, rawPath: string): RouteMatch<R> {
    const parts = splitPath(rawPath);
    if (parts === undefined) throw routeNotFound();
    const allowed: string[] = [];
    for (const { route, segments } of this.compiled) {
      const params = matchSegments(segments, parts);
      if (params === undefined) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    if (allowed.length > 0) throw new MethodNotAllowedError(method, allowed);
    throw routeNotFound();
  }
}

function compile(template: string): Segment[] {
  return template
    .split('/')
    .filter((part) => part !== '')
    .map((part) => {
      const param = /^\{(\w+)\}$/.exec(part);
      return param ? { param: param[1] as string } : { literal: part };
    });
}

/** Decoded segments, or undefined for a path no route can match (bad escapes, empty segments). */
function splitPath(rawPath: string): string[] | undefined {
  if (!rawPath.startsWith('/')) return undefined;
  const trimmed = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const raw = trimmed.split('/').slice(1);
  if (raw.length === 1 && raw[0] === '') return [];
  const parts: string[] = [];
  for (const part of raw) {
    if (part === '') return undefined;
    try {
      parts.push(decodeURIComponent(part));
    } catch {
      return undefined;
    }
  }
  return parts;
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  // Null prototype: a segment named "__proto__" or "constructor" stays plain data.
  const params = Object.create(null) as Record<string, string>;
  for (const [index, segment] of segments.entries()) {
    const part = parts[index] as string;
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
    } else {
      params[segment.param] = part;
    }
  }
  return params;
}
