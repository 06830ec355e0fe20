import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc, fleetPath, type Session } from './api';
import { DeliveryList } from './deliveries';
import { CopyButton, Empty, ErrorBox, Field, Loading, Pager, Status, Time, toIso, useAsync, usePager } from './ui';

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  name?: string;
  description?: string;
  headers?: Record<string, string>;
  timeoutSeconds?: number;
  maxAttempts?: number;
  rateLimitPerSecond?: number;
  disabledReason?: string;
  /** The endpoint's circuit breaker, where the deployment reports it. */
  health?: { state?: string; consecutiveFailures?: number; lastError?: string; nextProbeAt?: string; slow?: boolean };
  lastTriggeredAt?: string;
  createdAt: string;
  secret?: string;
}

interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** The deployment's event types: GET /event-types when the deployment has it, else the OpenAPI catalog. */
export function useEventTypes(session: Session): string[] {
  const [types, setTypes] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    const fromCatalog = async () => {
      try {
        // The catalog plus the inbound types of this fleet's sources.
        const body = await api<{ data?: { type?: unknown }[] }>(session, 'GET', '/event-types', { query: { fleetId: session.fleetId } });
        const listed = (body.data ?? []).map((item) => (typeof item.type === 'string' ? item.type : ''));
        if (listed.length > 0) return listed.filter((type) => type !== '' && type !== 'webhook.test');
      } catch {
        // Not every deployment has the catalog route yet; the OpenAPI document has the same list.
      }
      const doc = await api<{ components?: { schemas?: { EventType?: { enum?: string[] } } } }>(session, 'GET', '/openapi.json');
      return doc.components?.schemas?.EventType?.enum ?? [];
    };
    fromCatalog().then(
      (list) => live && setTypes(list),
      () => live && setTypes([]),
    );
    return () => {
      live = false;
    };
  }, [session]);
  return types;
}

function EventPicker({ types, selected, onChange }: { types: string[]; selected: string[]; onChange: (next: string[]) => void }) {
  return (
    <fieldset class="picker">
      <legend>Event types (none checked: every type)</legend>
      {types.length === 0 && <p class="muted">Loading the catalog…</p>}
      {types.map((type) => (
        <label key={type} class="check">
          <input
            type="checkbox"
            checked={selected.includes(type)}
            onChange={(event) => {
              const on = (event.currentTarget as HTMLInputElement).checked;
              onChange(on ? [...selected, type] : selected.filter((item) => item !== type));
            }}
          />
          {type}
        </label>
      ))}
    </fieldset>
  );
}

function LastDelivery({ session, webhook }: { session: Session; webhook: Webhook }) {
  const state = useAsync(
    () => api<Page<{ status: string; createdAt: string; httpStatusCode?: number }>>(session, 'GET', fleetPath(session, `/webhooks/${enc(webhook.id)}/deliveries`), { query: { limit: 1 } }),
    webhook.id,
  );
  const last = state.data?.data[0];
  if (state.loading && state.data === undefined) return <span class="muted">…</span>;
  if (last === undefined) return <span class="muted">none yet</span>;
  return (
    <span>
      <Status value={last.status} /> {last.httpStatusCode ?? ''} <Time iso={last.createdAt} />
    </span>
  );
}

function health(webhook: Webhook): string {
  if (!webhook.enabled) return webhook.disabledReason ? `disabled: ${webhook.disabledReason}` : 'disabled';
  if (webhook.health?.state !== undefined) return webhook.health.state === 'closed' ? 'healthy' : `circuit ${webhook.health.state}`;
  return 'enabled';
}

function HealthDetail({ webhook }: { webhook: Webhook }) {
  const h = webhook.health;
  if (h === undefined) return null;
  return (
    <span class="muted small">
      {(h.consecutiveFailures ?? 0) > 0 ? ` ${h.consecutiveFailures} failed in a row` : ''}
      {h.slow ? ' · slow' : ''}
      {h.lastError !== undefined ? ` · ${h.lastError}` : ''}
    </span>
  );
}

export function EndpointsPage({ session }: { session: Session }) {
  const pager = usePager(session.fleetId);
  const list = useAsync(
    () => api<Page<Webhook>>(session, 'GET', fleetPath(session, '/webhooks'), { query: { limit: 20, cursor: pager.cursor } }),
    `${session.fleetId}|${pager.cursor ?? ''}`,
  );
  return (
    <section>
      <header class="row">
        <h1>Endpoints</h1>
        {!session.readOnly && <a class="button" href="#/endpoints/new">Add endpoint</a>}
      </header>
      <ErrorBox error={list.error} />
      {list.loading && list.data === undefined && <Loading what="endpoints" />}
      {list.data !== undefined && list.data.data.length === 0 && <Empty>No endpoints yet. Add one to start receiving events.</Empty>}
      {list.data !== undefined && list.data.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Events</th>
              <th scope="col">Health</th>
              <th scope="col">Last delivery</th>
            </tr>
          </thead>
          <tbody>
            {list.data.data.map((webhook) => (
              <tr key={webhook.id}>
                <td>
                  <a href={`#/endpoints/${enc(webhook.id)}`}>{webhook.name ?? webhook.url}</a>
                  <div class="muted small">{webhook.url}</div>
                </td>
                <td>{webhook.events.length === 0 ? 'all' : webhook.events.join(', ')}</td>
                <td>
                  <Status value={health(webhook)} />
                  <HealthDetail webhook={webhook} />
                </td>
                <td>
                  <LastDelivery session={session} webhook={webhook} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.data !== undefined && <Pager pager={pager} nextCursor={list.data.nextCursor} />}
    </section>
  );
}

interface FormValues {
  url: string;
  name: string;
  description: string;
  events: string[];
  headers: string;
  timeoutSeconds: string;
  rateLimitPerSecond: string;
  enabled: boolean;
}

function formFrom(webhook: Webhook | undefined): FormValues {
  return {
    url: webhook?.url ?? '',
    name: webhook?.name ?? '',
    description: webhook?.description ?? '',
    events: webhook?.events ?? [],
    headers: Object.entries(webhook?.headers ?? {})
      .map(([name, value]) => `${name}: ${value}`)
      .join('\n'),
    timeoutSeconds: webhook?.timeoutSeconds === undefined ? '' : String(webhook.timeoutSeconds),
    rateLimitPerSecond: webhook?.rateLimitPerSecond === undefined ? '' : String(webhook.rateLimitPerSecond),
    enabled: webhook?.enabled ?? true,
  };
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ApiError(400, 'Each header line must be "Name: value".', [{ field: 'headers', reason: `cannot read "${line}"` }]);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The request body of a create (absent fields omitted) or an update (cleared fields null). */
function bodyFrom(values: FormValues, update: boolean): Record<string, unknown> {
  const optional = (value: string, convert: (text: string) => unknown = (text) => text) =>
    value.trim() === '' ? (update ? null : undefined) : convert(value.trim());
  const headers = parseHeaders(values.headers);
  const body: Record<string, unknown> = {
    url: values.url.trim(),
    events: values.events,
    name: optional(values.name),
    description: optional(values.description),
    headers: Object.keys(headers).length === 0 ? (update ? null : undefined) : headers,
    timeoutSeconds: optional(values.timeoutSeconds, Number),
    enabled: values.enabled,
  };
  if (values.rateLimitPerSecond.trim() !== '') body.rateLimitPerSecond = Number(values.rateLimitPerSecond);
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

function EndpointForm(props: { session: Session; initial?: Webhook; submitLabel: string; onSubmit: (body: Record<string, unknown>) => Promise<void> }) {
  const types = useEventTypes(props.session);
  const [values, setValues] = useState<FormValues>(() => formFrom(props.initial));
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const set = (name: keyof FormValues) => (event: Event) => {
    const target = event.currentTarget as HTMLInputElement;
    setValues((previous) => ({ ...previous, [name]: target.type === 'checkbox' ? target.checked : target.value }));
  };
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        setError(undefined);
        let body: Record<string, unknown>;
        try {
          body = bodyFrom(values, props.initial !== undefined);
        } catch (problem) {
          setError(problem as ApiError);
          setBusy(false);
          return;
        }
        props.onSubmit(body).then(
          () => setBusy(false),
          (problem: unknown) => {
            setError(problem instanceof ApiError ? problem : new ApiError(0, String(problem)));
            setBusy(false);
          },
        );
      }}
    >
      <ErrorBox error={error} />
      <Field label="Endpoint URL" hint="HTTPS; the host must resolve to a public address.">
        {(id) => <input id={id} name="url" type="url" required value={values.url} onInput={set('url')} placeholder="https://example.com/webhooks" />}
      </Field>
      <Field label="Name">{(id) => <input id={id} name="name" value={values.name} onInput={set('name')} />}</Field>
      <Field label="Description">{(id) => <input id={id} name="description" value={values.description} onInput={set('description')} />}</Field>
      <EventPicker types={types} selected={values.events} onChange={(events) => setValues((previous) => ({ ...previous, events }))} />
      <Field label="Custom headers" hint="One per line: Name: value">
        {(id) => <textarea id={id} name="headers" rows={3} value={values.headers} onInput={set('headers')} />}
      </Field>
      <Field label="Timeout (seconds)">
        {(id) => <input id={id} name="timeoutSeconds" type="number" min={1} max={300} value={values.timeoutSeconds} onInput={set('timeoutSeconds')} />}
      </Field>
      <Field label="Rate limit (deliveries per second)" hint="Empty: no limit (where the deployment supports it).">
        {(id) => <input id={id} name="rateLimitPerSecond" type="number" min={1} value={values.rateLimitPerSecond} onInput={set('rateLimitPerSecond')} />}
      </Field>
      <label class="check">
        <input type="checkbox" name="enabled" checked={values.enabled} onChange={set('enabled')} /> Enabled
      </label>
      <div>
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : props.submitLabel}
        </button>
      </div>
    </form>
  );
}

/** A signing secret, shown once: create and rotate are the only answers that carry it. */
function SecretOnce({ secret, onDone }: { secret: string; onDone: () => void }) {
  return (
    <div class="secret" role="region" aria-label="Signing secret">
      <h2>Signing secret</h2>
      <p>Copy it now: Hookline shows it this once. Your receiver verifies every delivery with it.</p>
      <p>
        <code class="secret-value">{secret}</code>
      </p>
      <CopyButton text={secret} label="Copy secret" />{' '}
      <button type="button" onClick={onDone}>
        I have stored it
      </button>
    </div>
  );
}

export function NewEndpointPage({ session }: { session: Session }) {
  const [created, setCreated] = useState<Webhook | undefined>();
  if (created?.secret !== undefined) {
    return (
      <section>
        <h1>Endpoint created</h1>
        <p>{created.url}</p>
        <SecretOnce secret={created.secret} onDone={() => (location.hash = `#/endpoints/${enc(created.id)}`)} />
      </section>
    );
  }
  return (
    <section>
      <h1>Add endpoint</h1>
      <EndpointForm
        session={session}
        submitLabel="Create endpoint"
        onSubmit={async (body) => setCreated(await api<Webhook>(session, 'POST', fleetPath(session, '/webhooks'), { body }))}
      />
    </section>
  );
}

export function EndpointPage({ session, id }: { session: Session; id: string }) {
  const [version, setVersion] = useState(0);
  const state = useAsync(() => api<Webhook>(session, 'GET', fleetPath(session, `/webhooks/${enc(id)}`)), `${id}|${version}`);
  const [secret, setSecret] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [actionError, setActionError] = useState<ApiError | undefined>();
  const [editing, setEditing] = useState(false);
  const act = async (what: () => Promise<void>) => {
    setActionError(undefined);
    setNotice(undefined);
    try {
      await what();
    } catch (error) {
      setActionError(error instanceof ApiError ? error : new ApiError(0, String(error)));
    }
  };
  const webhook = state.data;
  if (state.error !== undefined && webhook === undefined) return <ErrorBox error={state.error} />;
  if (webhook === undefined) return <Loading what="the endpoint" />;
  const path = fleetPath(session, `/webhooks/${enc(id)}`);
  return (
    <section>
      <p>
        <a href="#/endpoints">← Endpoints</a>
      </p>
      <h1>{webhook.name ?? webhook.url}</h1>
      <dl class="kv">
        <dt>URL</dt>
        <dd>{webhook.url}</dd>
        <dt>Id</dt>
        <dd>
          <code>{webhook.id}</code>
        </dd>
        <dt>Status</dt>
        <dd>
          <Status value={health(webhook)} /> <HealthDetail webhook={webhook} />
        </dd>
        {webhook.health?.nextProbeAt !== undefined && (
          <>
            <dt>Next probe</dt>
            <dd>
              <Time iso={webhook.health.nextProbeAt} />
            </dd>
          </>
        )}
        <dt>Last triggered</dt>
        <dd>
          <Time iso={webhook.lastTriggeredAt} />
        </dd>
        <dt>Events</dt>
        <dd>{webhook.events.length === 0 ? 'every type' : webhook.events.join(', ')}</dd>
        {webhook.description !== undefined && (
          <>
            <dt>Description</dt>
            <dd>{webhook.description}</dd>
          </>
        )}
        <dt>Created</dt>
        <dd>
          <Time iso={webhook.createdAt} />
        </dd>
      </dl>
      <ErrorBox error={actionError} />
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {secret !== undefined && <SecretOnce secret={secret} onDone={() => setSecret(undefined)} />}
      {!session.readOnly && (
        <div class="actions">
          <button type="button" onClick={() => setEditing(!editing)}>
            {editing ? 'Close editor' : 'Edit'}
          </button>
          <button
            type="button"
            onClick={() =>
              act(async () => {
                const rotated = await api<Webhook>(session, 'POST', `${path}/rotate`);
                setSecret(rotated.secret);
              })
            }
          >
            Rotate secret
          </button>
          <button
            type="button"
            onClick={() =>
              act(async () => {
                const sent = await api<{ deliveryId: string }>(session, 'POST', `${path}/test`);
                setNotice(`Test event sent (delivery ${sent.deliveryId}).`);
              })
            }
          >
            Send test event
          </button>
          <button
            type="button"
            class="danger"
            onClick={() =>
              act(async () => {
                if (!confirm('Delete this endpoint? Its deliveries stop at once.')) return;
                await api(session, 'DELETE', path);
                location.hash = '#/endpoints';
              })
            }
          >
            Delete
          </button>
        </div>
      )}
      {editing && (
        <EndpointForm
          session={session}
          initial={webhook}
          submitLabel="Save changes"
          onSubmit={async (body) => {
            await api(session, 'PATCH', path, { body });
            setEditing(false);
            setNotice('Saved.');
            setVersion((value) => value + 1);
          }}
        />
      )}
      {!session.readOnly && <ReplayForm session={session} path={path} />}
      <h2>Deliveries</h2>
      <DeliveryList session={session} webhookId={id} />
    </section>
  );
}

function ReplayForm({ session, path }: { session: Session; path: string }) {
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [result, setResult] = useState<string | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  return (
    <form
      class="inline"
      aria-label="Replay a time range"
      onSubmit={(event) => {
        event.preventDefault();
        setError(undefined);
        api<{ enqueued: number; continued: boolean }>(session, 'POST', `${path}/replay`, { body: { since: toIso(since), until: toIso(until) } }).then(
          (answer) => setResult(`Replay enqueued ${answer.enqueued} deliveries${answer.continued ? ' and continues in the background' : ''}.`),
          (problem: unknown) => setError(problem as ApiError),
        );
      }}
    >
      <h2>Replay a time range</h2>
      <ErrorBox error={error} />
      <Field label="From">{(id) => <input id={id} type="datetime-local" step={1} required value={since} onInput={(e) => setSince((e.currentTarget as HTMLInputElement).value)} />}</Field>
      <Field label="To">{(id) => <input id={id} type="datetime-local" step={1} required value={until} onInput={(e) => setUntil((e.currentTarget as HTMLInputElement).value)} />}</Field>
      <button type="submit">Replay</button>
      {result !== undefined && <p role="status">{result}</p>}
    </form>
  );
}
