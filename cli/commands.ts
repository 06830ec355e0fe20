import { parseArgs } from 'node:util';
import { UsageError } from './args';

/**
 * The API commands as data: what each takes, so parsing, `--help` and the usage errors come from
 * one table. Options every API command accepts are in GLOBAL.
 */
export interface CommandSpec {
  group: string;
  action: string;
  /** Name of the one positional argument, when the command takes one. */
  argument?: string;
  options: readonly string[];
  required?: readonly string[];
  summary: string;
}

const LIST = ['limit', 'cursor', 'all'];
const WEBHOOK_FIELDS = ['url', 'events', 'name', 'description', 'header', 'timeout', 'max-attempts'];

export const COMMANDS: readonly CommandSpec[] = [
  { group: 'webhooks', action: 'list', options: ['fleet', ...LIST], required: ['fleet'], summary: 'subscriptions of a fleet' },
  { group: 'webhooks', action: 'create', options: ['fleet', ...WEBHOOK_FIELDS, 'disabled'], required: ['fleet', 'url'], summary: 'a subscription; prints its signing secret once' },
  { group: 'webhooks', action: 'get', argument: 'wh_id', options: ['fleet'], required: ['fleet'], summary: 'one subscription' },
  { group: 'webhooks', action: 'update', argument: 'wh_id', options: ['fleet', ...WEBHOOK_FIELDS, 'enable', 'disable'], required: ['fleet'], summary: 'change fields (--events "" = every type)' },
  { group: 'webhooks', action: 'delete', argument: 'wh_id', options: ['fleet'], required: ['fleet'], summary: 'delete a subscription and its secret' },
  { group: 'webhooks', action: 'rotate', argument: 'wh_id', options: ['fleet'], required: ['fleet'], summary: 'new signing secret, printed once; the old one signs alongside for the grace period' },
  { group: 'webhooks', action: 'test', argument: 'wh_id', options: ['fleet'], required: ['fleet'], summary: 'send a webhook.test event to it' },
  { group: 'events', action: 'publish', options: ['fleet', 'type', 'data', 'data-file', 'id', 'idempotency-key'], required: ['fleet', 'type'], summary: 'publish an event (--data JSON, default {})' },
  { group: 'events', action: 'list', options: ['fleet', 'type', 'since', 'until', ...LIST], required: ['fleet'], summary: 'stored events, newest first' },
  { group: 'events', action: 'get', argument: 'evt_id', options: ['fleet'], required: ['fleet'], summary: 'one stored event' },
  { group: 'deliveries', action: 'list', options: ['fleet', 'webhook', 'status', 'event-type', 'since', 'until', ...LIST], required: ['fleet'], summary: 'the delivery log, newest first (--webhook for one subscription)' },
  { group: 'deliveries', action: 'get', argument: 'dlv_id', options: ['fleet'], required: ['fleet'], summary: 'one delivery with its attempts' },
  { group: 'deliveries', action: 'retry', argument: 'dlv_id', options: ['fleet'], required: ['fleet'], summary: 'deliver again now, same delivery id' },
  { group: 'deliveries', action: 'tail', options: ['fleet', 'webhook', 'status', 'event-type', 'interval', 'duration'], required: ['fleet', 'webhook'], summary: 'follow new deliveries and attempts as they happen (Ctrl-C stops)' },
  { group: 'replay', action: '', argument: 'wh_id', options: ['fleet', 'since', 'until'], required: ['fleet', 'since'], summary: 'deliver stored events of a time range again (--since 1h or an ISO time)' },
  { group: 'inbound-sources', action: 'list', options: ['fleet', ...LIST], required: ['fleet'], summary: 'inbound webhook sources of a fleet' },
  { group: 'inbound-sources', action: 'create', options: ['fleet', 'provider', 'name', 'set'], required: ['fleet', 'provider'], summary: 'a source; prints its ingest URL and secret once' },
  { group: 'inbound-sources', action: 'get', argument: 'source_id', options: ['fleet'], required: ['fleet'], summary: 'one source' },
  { group: 'inbound-sources', action: 'update', argument: 'source_id', options: ['fleet', 'name', 'set', 'enable', 'disable'], required: ['fleet'], summary: 'change fields (--set key=<JSON value>)' },
  { group: 'inbound-sources', action: 'delete', argument: 'source_id', options: ['fleet'], required: ['fleet'], summary: 'delete a source' },
  { group: 'inbound-sources', action: 'rotate', argument: 'source_id', options: ['fleet'], required: ['fleet'], summary: 'new secret, printed once' },
];

const OPTION_TYPES = {
  fleet: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  url: { type: 'string' },
  events: { type: 'string', multiple: true },
  name: { type: 'string' },
  description: { type: 'string' },
  header: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  'max-attempts': { type: 'string' },
  disabled: { type: 'boolean' },
  enable: { type: 'boolean' },
  disable: { type: 'boolean' },
  type: { type: 'string' },
  data: { type: 'string' },
  'data-file': { type: 'string' },
  id: { type: 'string' },
  'idempotency-key': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  webhook: { type: 'string' },
  status: { type: 'string' },
  'event-type': { type: 'string' },
  interval: { type: 'string' },
  duration: { type: 'string' },
  provider: { type: 'string' },
  set: { type: 'string', multiple: true },
  // Every API command:
  api: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type OptionName = keyof typeof OPTION_TYPES;
export const GLOBAL: readonly OptionName[] = ['api', 'token', 'data-dir', 'json', 'help'];

export type Values = { [K in OptionName]?: (typeof OPTION_TYPES)[K] extends { multiple: true } ? string[] : (typeof OPTION_TYPES)[K] extends { type: 'boolean' } ? boolean : string };

export interface ParsedCommand {
  spec: CommandSpec;
  argument?: string;
  values: Values;
}

export const API_GROUPS = new Set(COMMANDS.map((command) => command.group));

/** Parses one API command; throws UsageError naming what is wrong. `help` is returned for `--help`. */
export function parseApiCommand(argv: readonly string[]): ParsedCommand | { help: string } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTION_TYPES });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split('\n')[0]! : String(error));
  }
  const values = parsed.values as Values;
  const [group, ...rest] = parsed.positionals;
  const candidates = COMMANDS.filter((command) => command.group === group);
  if (candidates.length === 0) throw new UsageError(`Unknown command "${group}"`);
  const takesAction = candidates.some((command) => command.action !== '');
  const action = takesAction ? rest.shift() : '';
  if (values.help === true) return { help: groupUsage(group as string) };
  const spec = candidates.find((command) => command.action === action);
  if (spec === undefined) {
    const known = candidates.map((command) => command.action).join(', ');
    throw new UsageError(action === undefined ? `${group} needs a command: ${known}` : `Unknown ${group} command "${action}" (${known})`);
  }
  const name = commandName(spec);
  const [argument, ...extra] = rest;
  if (spec.argument !== undefined && argument === undefined) throw new UsageError(`${name} needs the ${spec.argument.replace('_', ' ')}`);
  if (spec.argument === undefined && argument !== undefined) throw new UsageError(`Unexpected argument ${JSON.stringify(argument)}`);
  if (extra.length > 0) throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}`);
  for (const option of Object.keys(values) as OptionName[]) {
    if (!spec.options.includes(option) && !GLOBAL.includes(option)) throw new UsageError(`--${option} does not apply to ${name}`);
  }
  for (const option of spec.required ?? []) {
    if (values[option as OptionName] === undefined) throw new UsageError(`${name} needs --${option}${option === 'fleet' ? ' <fleet id>' : ''}`);
  }
  return { spec, ...(argument === undefined ? {} : { argument }), values };
}

export function commandName(spec: CommandSpec): string {
  return spec.action === '' ? spec.group : `${spec.group} ${spec.action}`;
}

function signature(spec: CommandSpec): string {
  const argument = spec.argument === undefined ? '' : ` <${spec.argument}>`;
  const required = (spec.required ?? []).map((option) => ` --${option} <${option}>`).join('');
  return `${commandName(spec)}${argument}${required}`;
}

export function groupUsage(group: string): string {
  const lines = COMMANDS.filter((command) => command.group === group).map((command) => {
    const optional = command.options.filter((option) => !(command.required ?? []).includes(option)).map((option) => `--${option}`);
    return `  hookline ${signature(command)}\n      ${command.summary}${optional.length > 0 ? `\n      options: ${optional.join(' ')}` : ''}`;
  });
  return `Usage:\n${lines.join('\n')}\n\n${CONNECTION_HELP}`;
}

export const CONNECTION_HELP = `Where: the local \`npm start\` of --data-dir (HOOKLINE_DATA_DIR, default .hookline/) with its
development token, or a deployed stack with --api <ApiUrl> --token <token> (HOOKLINE_API, HOOKLINE_TOKEN).
Output: a table or text for people; --json prints the API's JSON for scripts.
`;

export function apiUsage(): string {
  return COMMANDS.map((command) => `  ${signature(command).padEnd(58)} ${command.summary}`).join('\n');
}
