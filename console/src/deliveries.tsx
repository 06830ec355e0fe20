import { useState } from 'preact/hooks';
import { api, ApiError, enc, fleetPath, type Session } from './api';
import { Empty, ErrorBox, Field, Headers, Loading, Pager, showControls, Status, Time, toIso, useAsync, usePager, usePolling } from './ui';

export interface DeliverySummary {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  webhookUrl: string;
  status: string;
  attemptCount: number;
  lastAttemptAt?: string;
  httpStatusCode?: number;
  latencyMs?: number;
  errorMessage?: string;
  errorKind?: string;
  nextAttemptAt?: string;
  createdAt: string;
}

interface Attempt {
  attempt: number;
  round?: number;
  at: string;
  statusCode?: number;
  latencyMs?: number;
  responseContentLength?: number;
  responseHeaders?: Record<string, string>;
  responseBodyExcerpt?: string;
  errorKind?: string;
  errorMessage?: string;
  retryInSeconds?: number;
}

interface Delivery extends DeliverySummary {
  attempts: Attempt[];
  payload: { body: string; headers: Record<string, string> } | null;
}

const POLL_MS = 3_000;

interface Filters {
  status: string;
  eventType: string;
  httpStatus: string;
  since: string;
  until: string;
}

const NO_FILTERS: Filters = { status: '', eventType: '', httpStatus: '', since: '', until: '' };

export function DeliveryTable({ items }: { items: DeliverySummary[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Delivery</th>
          <th scope="col">Event type</th>
          <th scope="col">Status</th>
          <th scope="col">HTTP</th>
          <th scope="col">Attempts</th>
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        {items.map((delivery) => (
          <tr key={delivery.id}>
            <td>
              <a href={`#/deliveries/${enc(delivery.id)}`}>{delivery.id}</a>
              <div class="muted small">{delivery.webhookUrl}</div>
            </td>
            <td>{delivery.eventType}</td>
            <td>
              <Status value={delivery.status} />
            </td>
            <td>{delivery.httpStatusCode ?? delivery.errorKind ?? '—'}</td>
            <td>{delivery.attemptCount}</td>
            <td>
              <Time iso={delivery.createdAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A delivery log, fleet-wide or of one endpoint, with filters, pages and a live refresh. */
export function DeliveryList({ session, webhookId }: { session: Session; webhookId?: string }) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [live, setLive] = useState(true);
  const key = `${session.fleetId}|${webhookId ?? ''}|${JSON.stringify(filters)}`;
  const pager = usePager(key);
  const path = webhookId === undefined ? fleetPath(session, '/deliveries') : fleetPath(session, `/webhooks/${enc(webhookId)}/deliveries`);
  const state = useAsync(
    () =>
      api<{ data: DeliverySummary[]; nextCursor: string | null }>(session, 'GET', path, {
        query: {
          limit: 25,
          cursor: pager.cursor,
          status: filters.status,
          eventType: filters.eventType.trim(),
          httpStatus: webhookId === undefined ? filters.httpStatus.trim() : undefined,
          since: toIso(filters.since),
          until: toIso(filters.until),
        },
      }),
    `${key}|${pager.cursor ?? ''}`,
  );
  // Only the first page refreshes itself: later pages would shift under the reader.
  usePolling(state.reload, POLL_MS, live && pager.page === 1);
  const set = (name: keyof Filters) => (event: Event) => setDraft({ ...draft, [name]: (event.currentTarget as HTMLInputElement).value });
  return (
    <div>
      <form
        class="filters"
        aria-label="Filter deliveries"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <Field label="Status">
          {(id) => (
            <select id={id} value={draft.status} onChange={set('status')}>
              <option value="">any</option>
              <option value="pending">pending</option>
              <option value="succeeded">succeeded</option>
              <option value="failed">failed</option>
              <option value="disabled">disabled</option>
            </select>
          )}
        </Field>
        <Field label="Event type">{(id) => <input id={id} value={draft.eventType} onInput={set('eventType')} placeholder="thread.completed" />}</Field>
        {webhookId === undefined && (
          <Field label="HTTP status">{(id) => <input id={id} type="number" min={100} max={599} value={draft.httpStatus} onInput={set('httpStatus')} />}</Field>
        )}
        <Field label="Since">{(id) => <input id={id} type="datetime-local" step={1} value={draft.since} onInput={set('since')} />}</Field>
        <Field label="Until">{(id) => <input id={id} type="datetime-local" step={1} value={draft.until} onInput={set('until')} />}</Field>
        <button type="submit">Apply filters</button>
        <label class="check live">
          <input type="checkbox" checked={live} onChange={(event) => setLive((event.currentTarget as HTMLInputElement).checked)} />
          Live {live && pager.page === 1 && <span class="pulse" aria-hidden="true" />}
        </label>
      </form>
      <ErrorBox error={state.error} />
      {state.loading && state.data === undefined && <Loading what="deliveries" />}
      {state.data !== undefined && state.data.data.length === 0 && (
        <Empty>{state.data.nextCursor ? 'No match on this page; try the next one.' : 'No deliveries match.'}</Empty>
      )}
      {state.data !== undefined && state.data.data.length > 0 && <DeliveryTable items={state.data.data} />}
      {state.data !== undefined && <Pager pager={pager} nextCursor={state.data.nextCursor} />}
    </div>
  );
}

export function DeliveriesPage({ session }: { session: Session }) {
  return (
    <section>
      <h1>Deliveries</h1>
      <DeliveryList session={session} />
    </section>
  );
}

function prettyJson(text: string): string {
  try {
    return showControls(JSON.stringify(JSON.parse(text), null, 2));
  } catch {
    return showControls(text);
  }
}

export function DeliveryPage({ session, id }: { session: Session; id: string }) {
  const state = useAsync(() => api<Delivery>(session, 'GET', fleetPath(session, `/deliveries/${enc(id)}`)), id);
  const [actionError, setActionError] = useState<ApiError | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const pending = state.data?.status === 'pending';
  usePolling(state.reload, POLL_MS, pending || notice !== undefined);
  const delivery = state.data;
  if (state.error !== undefined && delivery === undefined) return <ErrorBox error={state.error} />;
  if (delivery === undefined) return <Loading what="the delivery" />;
  return (
    <section>
      <p>
        <a href="#/deliveries">← Deliveries</a>
      </p>
      <h1>Delivery {delivery.id}</h1>
      <dl class="kv">
        <dt>Status</dt>
        <dd>
          <Status value={delivery.status} />
        </dd>
        <dt>Event</dt>
        <dd>
          <a href={`#/events/${enc(delivery.eventId)}`}>{delivery.eventId}</a> ({delivery.eventType})
        </dd>
        <dt>Endpoint</dt>
        <dd>
          <a href={`#/endpoints/${enc(delivery.webhookId)}`}>{delivery.webhookUrl}</a>
        </dd>
        <dt>Attempts</dt>
        <dd>{delivery.attemptCount}</dd>
        {delivery.nextAttemptAt !== undefined && (
          <>
            <dt>Next attempt</dt>
            <dd>
              <Time iso={delivery.nextAttemptAt} />
            </dd>
          </>
        )}
        {delivery.errorMessage !== undefined && (
          <>
            <dt>Last error</dt>
            <dd>{delivery.errorMessage}</dd>
          </>
        )}
      </dl>
      <ErrorBox error={actionError} />
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {!session.readOnly && (
        <div class="actions">
          <button
            type="button"
            onClick={() => {
              setActionError(undefined);
              api(session, 'POST', fleetPath(session, `/deliveries/${enc(id)}/retry`)).then(
                () => {
                  setNotice('Retry enqueued; new attempts appear below.');
                  state.reload();
                },
                (error: unknown) => setActionError(error as ApiError),
              );
            }}
          >
            Retry now
          </button>
        </div>
      )}
      <h2>Attempts</h2>
      {delivery.attempts.length === 0 && <Empty>No attempt yet.</Empty>}
      <ol class="attempts">
        {delivery.attempts.map((attempt, index) => (
          <li key={index} class="attempt">
            <h3>
              Attempt {index + 1}: {attempt.statusCode !== undefined ? `HTTP ${attempt.statusCode}` : (attempt.errorKind ?? 'no answer')}
            </h3>
            <p>
              {attempt.round !== undefined ? `Round ${attempt.round}, try ${attempt.attempt} · ` : ''}
              <Time iso={attempt.at} />
              {attempt.latencyMs !== undefined ? ` · ${Math.round(attempt.latencyMs)} ms` : ''}
              {attempt.responseContentLength !== undefined ? ` · ${attempt.responseContentLength} bytes` : ''}
              {attempt.errorKind !== undefined ? ` · ${attempt.errorKind}` : ''}
              {attempt.retryInSeconds !== undefined ? ` · retry in ${attempt.retryInSeconds} s` : ''}
            </p>
            {attempt.errorMessage !== undefined && <p class="muted">{attempt.errorMessage}</p>}
            <Headers headers={attempt.responseHeaders} caption="Response headers" />
            {attempt.responseBodyExcerpt !== undefined && attempt.responseBodyExcerpt !== '' && (
              <>
                <h4>Response excerpt</h4>
                <pre>{showControls(attempt.responseBodyExcerpt)}</pre>
              </>
            )}
          </li>
        ))}
      </ol>
      <h2>Payload sent</h2>
      {delivery.payload === null || delivery.payload === undefined ? (
        <Empty>The event is past its retention; its payload is no longer stored.</Empty>
      ) : (
        <>
          <Headers headers={delivery.payload.headers} caption="Request headers" />
          <pre class="payload" aria-label="Payload">
            {prettyJson(delivery.payload.body)}
          </pre>
        </>
      )}
    </section>
  );
}
