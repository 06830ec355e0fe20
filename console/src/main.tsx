import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, fleetPath, loadSession, saveSession, type Session } from './api';
import { DeliveriesPage, DeliveryPage } from './deliveries';
import { EndpointPage, EndpointsPage, NewEndpointPage } from './endpoints';
import { EventPage, EventsPage, InboundPage, PortalLinkPage } from './events';
import './style.css';
import { ErrorBox, Field } from './ui';

/**
 * A portal link carries its session in the URL fragment (`#portal=…&fleet=…`), which browsers never
 * send to a server. It is read once, kept in this tab's session storage, and wiped from the address
 * bar and history before anything renders.
 */
function sessionFromFragment(): Session | undefined {
  if (!location.hash.startsWith('#portal=')) return undefined;
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, '', `${location.pathname}#/endpoints`);
  const token = params.get('portal');
  const fleetId = params.get('fleet');
  if (token === null || fleetId === null) return undefined;
  const session: Session = { token, fleetId, portal: true, readOnly: params.get('readOnly') === '1' };
  saveSession(session);
  return session;
}

function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn({ onSignIn }: { onSignIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [fleetId, setFleetId] = useState('');
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <main class="signin">
      <h1>Hookline console</h1>
      <p>Sign in with an API token. It stays in this browser tab only and is sent to this API alone.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const session: Session = { token: token.trim(), fleetId: fleetId.trim(), portal: false, readOnly: false };
          setBusy(true);
          setError(undefined);
          // One cheap read proves the token and the fleet before the console opens.
          api(session, 'GET', fleetPath(session, '/webhooks'), { query: { limit: 1 } }).then(
            () => {
              saveSession(session);
              onSignIn(session);
            },
            (problem: unknown) => {
              setError(problem as ApiError);
              setBusy(false);
            },
          );
        }}
      >
        <ErrorBox error={error} />
        <Field label="API token">{(id) => <input id={id} type="password" autoComplete="off" required value={token} onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)} />}</Field>
        <Field label="Fleet id">{(id) => <input id={id} required value={fleetId} onInput={(e) => setFleetId((e.currentTarget as HTMLInputElement).value)} />}</Field>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

const NAV: [string, string][] = [
  ['endpoints', 'Endpoints'],
  ['deliveries', 'Deliveries'],
  ['events', 'Events'],
  ['inbound', 'Inbound'],
];

function Page({ session, route }: { session: Session; route: string[] }) {
  const [section = 'endpoints', id] = route;
  switch (section) {
    case 'endpoints':
      if (id === 'new') return <NewEndpointPage session={session} />;
      return id === undefined ? <EndpointsPage session={session} /> : <EndpointPage key={id} session={session} id={id} />;
    case 'deliveries':
      return id === undefined ? <DeliveriesPage session={session} /> : <DeliveryPage key={id} session={session} id={id} />;
    case 'events':
      return id === undefined ? <EventsPage session={session} /> : <EventPage key={id} session={session} id={id} />;
    case 'inbound':
      return <InboundPage session={session} />;
    case 'portal':
      return session.portal ? <ErrorBox error={new ApiError(404, 'Not available in a portal session.')} /> : <PortalLinkPage session={session} />;
    default:
      return <ErrorBox error={new ApiError(404, 'No such page.')} />;
  }
}

function App() {
  const [session, setSession] = useState<Session | undefined>(() => sessionFromFragment() ?? loadSession());
  const route = useRoute();
  if (session === undefined) return <SignIn onSignIn={setSession} />;
  const section = route[0] ?? 'endpoints';
  return (
    <div class="app">
      <header class="top">
        <strong class="brand">Hookline</strong>
        <nav aria-label="Sections">
          {[...NAV, ...(session.portal ? [] : ([['portal', 'Portal link']] as [string, string][]))].map(([path, label]) => (
            <a key={path} href={`#/${path}`} aria-current={section === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="fleet" aria-label="Fleet">
          {session.portal ? 'Portal' : 'Fleet'}: {session.fleetId}
          {session.readOnly ? ' (read-only)' : ''}
        </span>
        <button
          type="button"
          onClick={() => {
            saveSession(undefined);
            setSession(undefined);
            history.replaceState(null, '', location.pathname);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Page session={session} route={route} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
