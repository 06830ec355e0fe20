/** The API as the console sees it: same origin, bearer token from memory, errors as the API words them. */

export interface FieldProblem {
  field: string;
  reason: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
  }
}

/** `/v1/console` → `/v1`: the API lives where the console was served from, whatever the stage. */
export const apiBase = location.pathname.replace(/\/console\/?$/, '');

export interface Session {
  token: string;
  fleetId: string;
  portal: boolean;
  readOnly: boolean;
}

const STORE_KEY = 'hookline.session';

/** Session storage: survives a reload of this tab, never a URL, never sent anywhere but the Authorization header. */
export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORE_KEY);
    if (raw === null) return undefined;
    const value = JSON.parse(raw) as Session;
    return typeof value.token === 'string' && typeof value.fleetId === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session | undefined): void {
  try {
    if (session === undefined) sessionStorage.removeItem(STORE_KEY);
    else sessionStorage.setItem(STORE_KEY, JSON.stringify(session));
  } catch {
    // Storage may be disabled (private modes, sandboxed frames): the session then lives in memory only.
  }
}

export type Query = Record<string, string | number | undefined>;

export async function api<T>(session: Session, method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const search = params.toString();
  let response: Response;
  try {
    response = await fetch(`${apiBase}${path}${search ? `?${search}` : ''}`, {
      method,
      headers: {
        authorization: `Bearer ${session.token}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? null : JSON.stringify(options.body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The API could not be reached.');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { message?: unknown; details?: unknown; requestId?: unknown } } | undefined)?.error;
    const message = typeof error?.message === 'string' ? error.message : `The API answered ${response.status}.`;
    const details = Array.isArray(error?.details) ? (error.details as FieldProblem[]) : [];
    const suffix = typeof error?.requestId === 'string' ? ` (request ${error.requestId})` : '';
    throw new ApiError(response.status, message + suffix, details);
  }
  return body as T;
}

export const fleetPath = (session: Session, rest: string) => `/fleets/${encodeURIComponent(session.fleetId)}${rest}`;
export const enc = encodeURIComponent;
