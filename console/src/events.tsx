import { useState } from 'preact/hooks';
import { api, ApiError, enc, fleetPath, type Session } from './api';
import { DeliveryTable, type DeliverySummary } from './deliveries';
import { CopyButton, Empty, ErrorBox, Field, Loading, Pager, showControls, Time, toIso, useAsync, usePager } from './ui';

interface EventSummary {
  id: string;
  type: string;
  timestamp: string;
  source: string;
  fannedOutAt?: string;
}

interface EventDetail extends EventSummary {
  data: unknown;
  expiresAt: string;
  deliveries: DeliverySummary[];
}

export function EventsPage({ session }: { session: Session }) {
  const [draft, setDraft] = useState({ type: '', since: '', until: '' });
  const [filters, setFilters] = useState(draft);
  const key = `${session.fleetId}|${JSON.stringify(filters)}`;
  const pager = usePager(key);
  const state = useAsync(
    () =>
      api<{ data: EventSummary[]; nextCursor: string | null }>(session, 'GET', fleetPath(session, '/events'), {
        query: { limit: 25, cursor: pager.cursor, type: filters.type.trim(), since: toIso(filters.since), until: toIso(filters.until) },
      }),
    `${key}|${pager.cursor ?? ''}`,
  );
  return (
    <section>
      <h1>Events</h1>
      <form
        class="filters"
        aria-label="Filter events"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <Field label="Type">{(id) => <input id={id} value={draft.type} onInput={(e) => setDraft({ ...draft, type: (e.currentTarget as HTMLInputElement).value })} />}</Field>
        <Field label="Since">
          {(id) => <input id={id} type="datetime-local" step={1} value={draft.since} onInput={(e) => setDraft({ ...draft, since: (e.currentTarget as HTMLInputElement).value })} />}
        </Field>
        <Field label="Until">
          {(id) => <input id={id} type="datetime-local" step={1} value={draft.until} onInput={(e) => setDraft({ ...draft, until: (e.currentTarget as HTMLInputElement).value })} />}
        </Field>
        <button type="submit">Apply filters</button>
        <button type="button" onClick={state.reload}>
          Refresh
        </button>
      </form>
      <ErrorBox error={state.error} />
      {state.loading && state.data === undefined && <Loading what="events" />}
      {state.data !== undefined && state.data.data.length === 0 && <Empty>No events match.</Empty>}
      {state.data !== undefined && state.data.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Type</th>
              <th scope="col">Source</th>
              <th scope="col">Time</th>
            </tr>
          </thead>
          <tbody>
            {state.data.data.map((event) => (
              <tr key={event.id}>
                <td>
                  <a href={`#/events/${enc(event.id)}`}>{event.id}</a>
                </td>
                <td>{event.type}</td>
                <td>{event.source}</td>
                <td>
                  <Time iso={event.timestamp} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {state.data !== undefined && <Pager pager={pager} nextCursor={state.data.nextCursor} />}
    </section>
  );
}

export function EventPage({ session, id }: { session: Session; id: string }) {
  const state = useAsync(() => api<EventDetail>(session, 'GET', fleetPath(session, `/events/${enc(id)}`)), id);
  const event = state.data;
  if (state.error !== undefined && event === undefined) return <ErrorBox error={state.error} />;
  if (event === undefined) return <Loading what="the event" />;
  return (
    <section>
      <p>
        <a href="#/events">← Events</a>
      </p>
      <h1>Event {event.id}</h1>
      <dl class="kv">
        <dt>Type</dt>
        <dd>{event.type}</dd>
        <dt>Time</dt>
        <dd>
          <Time iso={event.timestamp} />
        </dd>
        <dt>Source</dt>
        <dd>{event.source}</dd>
        <dt>Kept until</dt>
        <dd>
          <Time iso={event.expiresAt} />
        </dd>
      </dl>
      <h2>Data</h2>
      <pre class="payload">{showControls(JSON.stringify(event.data, null, 2))}</pre>
      <h2>Deliveries</h2>
      {event.deliveries.length === 0 ? <Empty>This event produced no delivery (no endpoint matched, or fan-out is still running).</Empty> : <DeliveryTable items={event.deliveries} />}
    </section>
  );
}

interface InboundSource {
  id: string;
  provider: string;
  name?: string;
  ingestUrl?: string;
  createdAt?: string;
  eventTypes?: string[];
  /** The provider's secret values: in the create answer only. */
  credentials?: Record<string, string>;
}

const PROVIDERS = ['github', 'gitlab', 'gitee', 'gerrit', 'feishu', 'wecom', 'generic'];

export function InboundPage({ session }: { session: Session }) {
  const [version, setVersion] = useState(0);
  const state = useAsync(
    () => api<{ data: InboundSource[]; nextCursor: string | null }>(session, 'GET', fleetPath(session, '/inbound-sources')),
    `${session.fleetId}|${version}`,
  );
  const [provider, setProvider] = useState('generic');
  const [name, setName] = useState('');
  const [created, setCreated] = useState<InboundSource | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const missing = state.error?.status === 404 && state.error.message === 'No such route.';
  return (
    <section>
      <h1>Inbound sources</h1>
      <p class="muted">Providers post to a source's ingest URL; each verified request becomes a Hookline event.</p>
      {missing ? (
        <Empty>This deployment does not offer inbound sources yet.</Empty>
      ) : (
        <>
          <ErrorBox error={state.error} />
          {state.loading && state.data === undefined && <Loading what="inbound sources" />}
          {state.data !== undefined && state.data.data.length === 0 && <Empty>No inbound sources yet.</Empty>}
          {state.data !== undefined && state.data.data.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Ingest URL</th>
                  <th scope="col">Event types</th>
                </tr>
              </thead>
              <tbody>
                {state.data.data.map((source) => (
                  <tr key={source.id}>
                    <td>{source.name ?? source.id}</td>
                    <td>{source.provider}</td>
                    <td>
                      <code>{source.ingestUrl ?? '—'}</code>
                    </td>
                    <td>{(source.eventTypes ?? []).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {created !== undefined && (
            <div class="secret" role="region" aria-label="New inbound source">
              <h2>Source created</h2>
              <p>
                Ingest URL: <code>{created.ingestUrl ?? '—'}</code> {created.ingestUrl !== undefined && <CopyButton text={created.ingestUrl} label="Copy URL" />}
              </p>
              {Object.entries(created.credentials ?? {}).map(([name, value]) => (
                <p key={name}>
                  {name} (shown once): <code class="secret-value">{value}</code> <CopyButton text={value} label={`Copy ${name}`} />
                </p>
              ))}
            </div>
          )}
          {!session.readOnly && (
            <form
              class="inline"
              aria-label="Add inbound source"
              onSubmit={(event) => {
                event.preventDefault();
                setError(undefined);
                api<InboundSource>(session, 'POST', fleetPath(session, '/inbound-sources'), { body: { provider, name: name.trim() } }).then(
                  (source) => {
                    setCreated(source);
                    setVersion((value) => value + 1);
                  },
                  (problem: unknown) => setError(problem as ApiError),
                );
              }}
            >
              <h2>Add inbound source</h2>
              <ErrorBox error={error} />
              <Field label="Provider">
                {(id) => (
                  <select id={id} value={provider} onChange={(e) => setProvider((e.currentTarget as HTMLSelectElement).value)}>
                    {PROVIDERS.map((item) => (
                      <option key={item} value={item}>
                        {item}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Name" hint="For generic sources also the event type generic.<name>: lower-case letters, digits and _.">
                {(id) => <input id={id} required value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />}
              </Field>
              <button type="submit">Create source</button>
            </form>
          )}
        </>
      )}
    </section>
  );
}

export function PortalLinkPage({ session }: { session: Session }) {
  const [ttl, setTtl] = useState('3600');
  const [readOnly, setReadOnly] = useState(false);
  const [link, setLink] = useState<{ url: string; expiresAt: string } | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  return (
    <section>
      <h1>Customer portal link</h1>
      <p>A short-lived console link that sees fleet {session.fleetId} only. Your product creates one per page view with the API; this form is for trying it out.</p>
      <form
        class="inline"
        aria-label="Create portal link"
        onSubmit={(event) => {
          event.preventDefault();
          setError(undefined);
          api<{ url: string; expiresAt: string }>(session, 'POST', fleetPath(session, '/portal-sessions'), { body: { ttlSeconds: Number(ttl), readOnly } }).then(setLink, (problem: unknown) =>
            setError(problem as ApiError),
          );
        }}
      >
        <ErrorBox error={error} />
        <Field label="Lifetime (seconds)">{(id) => <input id={id} type="number" min={60} max={86400} value={ttl} onInput={(e) => setTtl((e.currentTarget as HTMLInputElement).value)} />}</Field>
        <label class="check">
          <input type="checkbox" checked={readOnly} onChange={(e) => setReadOnly((e.currentTarget as HTMLInputElement).checked)} /> Read-only
        </label>
        <button type="submit">Create link</button>
      </form>
      {link !== undefined && (
        <div class="secret" role="region" aria-label="Portal link">
          <p>
            Expires <time dateTime={link.expiresAt}>{link.expiresAt}</time>. Anyone with the link can use it until then.
          </p>
          <CopyButton text={link.url} label="Copy link" />
        </div>
      )}
    </section>
  );
}
