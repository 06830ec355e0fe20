import * as z from 'zod';
import { badRequest, type FieldProblem } from '../core/errors';
import { GENERIC_SOURCE_NAME, sourceEventTypes } from '../core/inbound/ingest';
import { PROVIDERS } from '../core/inbound/registry';
import {
  credentialsAad,
  isSourceId,
  newSourceId,
  parseCredentialValue,
  rotateCredentials,
  type InboundSourceRecord,
  type SourceCredentialValue,
} from '../core/inbound/source';
import { PROVIDER_IDS, type Credentials, type InboundProvider, type SourceSettings } from '../core/inbound/types';
import type { InboundSourcePatch } from '../shared/inbound-sources-store';
import type { InboundDeps, RouteDeps } from './deps';
import type { ApiRequest } from './http';
import { defineRoute, resourceNotFound, type RouteSpec } from './route';
import { DEFAULT_PAGE_SIZE, MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH, MAX_PAGE_SIZE } from './schemas';

const COLLECTION = '/fleets/{fleetId}/inbound-sources';
const ITEM = `${COLLECTION}/{id}`;
const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

const Provider = z.enum(PROVIDER_IDS).openapi({ description: 'Which sender this source verifies.', example: 'github' });
const Settings = z
  .record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()]))
  .openapi({ description: "Provider settings (header names, modes); see the provider's section in the README.", example: {} });
const CredentialInput = z
  .record(z.string().max(64), z.string().max(256))
  .openapi({
    description: 'Secret values the provider issued (e.g. WeCom token and encodingAesKey); any left out are generated.',
    example: {},
  });

const CreateSource = z
  .strictObject({
    provider: Provider,
    name: z.string().min(1).max(MAX_NAME_LENGTH).openapi({
      description: 'Display name; for `generic` sources also the event type `generic.<name>`, so lower-case letters, digits and _.',
      example: 'acme_builds',
    }),
    description: z.string().max(MAX_DESCRIPTION_LENGTH).optional(),
    enabled: z.boolean().optional().openapi({ description: 'Default true; a disabled source answers 404.' }),
    settings: Settings.optional(),
    credentials: CredentialInput.optional(),
  })
  .openapi('CreateInboundSourceRequest', { example: { provider: 'github', name: 'Main repository' } });

const UpdateSource = z
  .strictObject({
    name: z.string().min(1).max(MAX_NAME_LENGTH).optional(),
    description: z.string().max(MAX_DESCRIPTION_LENGTH).nullable().optional(),
    enabled: z.boolean().optional(),
    settings: Settings.optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), { error: 'must change at least one field' })
  .openapi('UpdateInboundSourceRequest', { example: { enabled: false } });

const RotateSource = z
  .strictObject({ credentials: CredentialInput.optional() })
  .optional()
  .openapi('RotateInboundSourceRequest', { description: 'Optional new values; absent ones are generated.' });

const Source = z
  .object({
    id: z.string().openapi({ example: 'src_0D3K5Q8W2Z7Y9X1V4T6S8R0P2N4M6K8J' }),
    fleetId: z.string(),
    provider: Provider,
    name: z.string(),
    description: z.string().optional(),
    enabled: z.boolean(),
    settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    ingestUrl: z.string().openapi({ description: 'Where the provider must send its requests; unguessable, keep it private.' }),
    eventTypes: z.array(z.string()).openapi({ description: 'Event types this source publishes (documented ones; providers may send more).' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('InboundSource');
const SourceWithCredentials = Source.extend({
  credentials: z.record(z.string(), z.string()).openapi({ description: 'The secret values, shown only by create and rotate.' }),
}).openapi('InboundSourceWithCredentials');
const SourcePage = z.object({ data: z.array(Source), nextCursor: z.string().nullable() }).openapi('InboundSourcePage');
const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

type CreateInput = z.infer<typeof CreateSource>;
type UpdateInput = z.infer<typeof UpdateSource>;
type RotateInput = z.infer<typeof RotateSource>;

/** Fleet-scoped CRUD of inbound sources; the same 404-not-403 tenancy as webhooks. */
export function inboundSourceRoutes(deps: RouteDeps, inbound: InboundDeps): RouteSpec[] {
  const { sources, sealer } = inbound;
  const grace = deps.settings.rotationGraceHours;

  async function load(fleetId: string, id: string): Promise<InboundSourceRecord> {
    if (!isSourceId(id)) throw resourceNotFound('source');
    const record = await sources.getInFleet(fleetId, id);
    if (record === undefined) throw resourceNotFound('source');
    return record;
  }

  const create = defineRoute<undefined, CreateInput>({
    method: 'POST',
    path: COLLECTION,
    operationId: 'createInboundSource',
    summary: 'Create an inbound webhook source',
    description: 'Returns the `ingestUrl` to give the provider and the credentials, which are in this response only.',
    tag: 'Inbound sources',
    resource: 'fleet',
    body: CreateSource,
    responses: [{ status: 201, description: 'Created; `credentials` are shown this once.', schema: SourceWithCredentials }],
    async handle({ params, body, request }) {
      const fleetId = params.fleetId as string;
      const provider = PROVIDERS[body.provider];
      const problems: FieldProblem[] = [];
      if (provider.id === 'generic' && !GENERIC_SOURCE_NAME.test(body.name)) {
        problems.push({ field: 'name', reason: 'must be 1-63 lower-case letters, digits or _ starting with a letter (it names the event type generic.<name>)' });
      }
      const settings = checkSettings(provider, body.settings ?? {}, problems);
      const credentials = buildCredentials(provider, body.credentials ?? {}, problems);
      if (problems.length > 0) throw badRequest(problems);
      const now = deps.now().toISOString();
      const id = newSourceId();
      const value: SourceCredentialValue = { current: credentials };
      const record: InboundSourceRecord = {
        id,
        fleetId,
        provider: provider.id,
        name: body.name,
        ...(body.description === undefined ? {} : { description: body.description }),
        enabled: body.enabled ?? true,
        settings,
        sealedCredentials: await sealer.seal(JSON.stringify(value), credentialsAad(fleetId, id)),
        createdAt: now,
        updatedAt: now,
      };
      await sources.create(record);
      return {
        statusCode: 201,
        headers: { location: `/fleets/${encodeURIComponent(fleetId)}/inbound-sources/${id}` },
        body: { ...sourceView(record, request), credentials },
      };
    },
  });

  const list = defineRoute<{ limit?: number; cursor?: string }>({
    method: 'GET',
    path: COLLECTION,
    operationId: 'listInboundSources',
    summary: 'List inbound webhook sources',
    tag: 'Inbound sources',
    resource: 'fleet',
    query: ListQuery,
    responses: [{ status: 200, description: 'One page.', schema: SourcePage }],
    async handle({ params, query, request }) {
      const page = await sources.list(params.fleetId as string, {
        limit: query.limit ?? DEFAULT_PAGE_SIZE,
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      });
      return { statusCode: 200, body: { data: page.items.map((item) => sourceView(item, request)), nextCursor: page.nextCursor ?? null } };
    },
  });

  const get = defineRoute({
    method: 'GET',
    path: ITEM,
    operationId: 'getInboundSource',
    summary: 'Get an inbound webhook source',
    description: 'Never includes the credentials.',
    tag: 'Inbound sources',
    resource: 'source',
    responses: [{ status: 200, description: 'The source.', schema: Source }],
    async handle({ params, request }) {
      return { statusCode: 200, body: sourceView(await load(params.fleetId as string, params.id as string), request) };
    },
  });

  const update = defineRoute<undefined, UpdateInput>({
    method: 'PATCH',
    path: ITEM,
    operationId: 'updateInboundSource',
    summary: 'Update an inbound webhook source',
    description: '`settings` replaces the whole settings object. Renaming a generic source renames its event type.',
    tag: 'Inbound sources',
    resource: 'source',
    body: UpdateSource,
    responses: [{ status: 200, description: 'The updated source.', schema: Source }],
    async handle({ params, body, request }) {
      const fleetId = params.fleetId as string;
      const record = await load(fleetId, params.id as string);
      const provider = PROVIDERS[record.provider];
      const problems: FieldProblem[] = [];
      if (provider.id === 'generic' && body.name !== undefined && !GENERIC_SOURCE_NAME.test(body.name)) {
        problems.push({ field: 'name', reason: 'must be 1-63 lower-case letters, digits or _ starting with a letter' });
      }
      const patch: InboundSourcePatch = {};
      if (body.settings !== undefined) patch.settings = checkSettings(provider, body.settings, problems);
      if (problems.length > 0) throw badRequest(problems);
      if (body.name !== undefined) patch.name = body.name;
      if (body.description !== undefined) patch.description = body.description;
      if (body.enabled !== undefined) patch.enabled = body.enabled;
      const updated = await sources.update(fleetId, record.id, patch, deps.now().toISOString());
      if (updated === undefined) throw resourceNotFound('source');
      return { statusCode: 200, body: sourceView(updated, request) };
    },
  });

  const remove = defineRoute({
    method: 'DELETE',
    path: ITEM,
    operationId: 'deleteInboundSource',
    summary: 'Delete an inbound webhook source',
    description: 'Its credentials are erased with it at once; its ingest URL answers 404 from then on.',
    tag: 'Inbound sources',
    resource: 'source',
    responses: [{ status: 204, description: 'Deleted.' }],
    async handle({ params }) {
      const fleetId = params.fleetId as string;
      const id = params.id as string;
      if (!isSourceId(id)) throw resourceNotFound('source');
      const deleted = await sources.delete(fleetId, id);
      if (deleted === undefined) throw resourceNotFound('source');
      return { statusCode: 204 };
    },
  });

  const rotate = defineRoute<undefined, RotateInput>({
    method: 'POST',
    path: `${ITEM}/rotate`,
    operationId: 'rotateInboundSourceCredentials',
    summary: 'Rotate the credentials of an inbound source',
    description: `New credentials, returned once. The previous ones keep verifying for ${grace} hours, time to update the provider.`,
    tag: 'Inbound sources',
    resource: 'source',
    body: RotateSource,
    responses: [{ status: 200, description: 'The source with its new credentials.', schema: SourceWithCredentials }],
    async handle({ params, body, request }) {
      const fleetId = params.fleetId as string;
      const record = await load(fleetId, params.id as string);
      const provider = PROVIDERS[record.provider];
      const problems: FieldProblem[] = [];
      const credentials = buildCredentials(provider, body?.credentials ?? {}, problems);
      if (problems.length > 0) throw badRequest(problems);
      const aad = credentialsAad(fleetId, record.id);
      const now = deps.now();
      const current = parseCredentialValue(await sealer.open(record.sealedCredentials, aad));
      const next = rotateCredentials(current, credentials, now, grace);
      const sealed = await sealer.seal(JSON.stringify(next), aad);
      const updated = await sources.update(fleetId, record.id, { sealedCredentials: sealed }, now.toISOString());
      if (updated === undefined) throw resourceNotFound('source');
      return { statusCode: 200, body: { ...sourceView(updated, request), credentials } };
    },
  });

  return [create, list, get, update, remove, rotate];
}

/** The response shape, field by field: the sealed credentials never leave. */
export function sourceView(record: InboundSourceRecord, request: ApiRequest) {
  return {
    id: record.id,
    fleetId: record.fleetId,
    provider: record.provider,
    name: record.name,
    ...(record.description === undefined ? {} : { description: record.description }),
    enabled: record.enabled,
    settings: { ...record.settings },
    ingestUrl: `${request.baseUrl ?? ''}/inbound/${record.id}`,
    eventTypes: sourceEventTypes(PROVIDERS[record.provider], record.name),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

function checkSettings(provider: InboundProvider, input: Readonly<Record<string, unknown>>, problems: FieldProblem[]): SourceSettings {
  const out: Record<string, string | number | boolean> = {};
  for (const name of Object.keys(input)) {
    if (!provider.settings.some((field) => field.name === name)) {
      problems.push({ field: `settings.${name}`, reason: `is not a setting of ${provider.id} sources` });
    }
  }
  for (const field of provider.settings) {
    const value = input[field.name];
    const at = `settings.${field.name}`;
    if (value === undefined) {
      if (field.default !== undefined) out[field.name] = field.default;
      continue;
    }
    if (field.kind === 'number') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < (field.min ?? 0) || value > (field.max ?? Number.MAX_SAFE_INTEGER)) {
        problems.push({ field: at, reason: `must be an integer from ${field.min ?? 0} to ${field.max ?? Number.MAX_SAFE_INTEGER}` });
        continue;
      }
    } else if (field.kind === 'boolean') {
      if (typeof value !== 'boolean') {
        problems.push({ field: at, reason: 'must be a boolean' });
        continue;
      }
    } else if (typeof value !== 'string') {
      problems.push({ field: at, reason: 'must be a string' });
      continue;
    } else if (field.kind === 'header' && !HEADER_NAME.test(value)) {
      problems.push({ field: at, reason: 'must be an HTTP header name of letters, digits and -' });
      continue;
    } else if (field.values !== undefined && !field.values.includes(value)) {
      problems.push({ field: at, reason: `must be one of ${field.values.map((item) => JSON.stringify(item)).join(', ')}` });
      continue;
    }
    out[field.name] = value as string | number | boolean;
  }
  return out;
}

function buildCredentials(provider: InboundProvider, input: Readonly<Record<string, string>>, problems: FieldProblem[]): Credentials {
  const out: Record<string, string> = {};
  for (const name of Object.keys(input)) {
    if (!provider.credentials.some((field) => field.name === name)) {
      problems.push({ field: `credentials.${name}`, reason: `is not a credential of ${provider.id} sources` });
    }
  }
  for (const field of provider.credentials) {
    const given = input[field.name];
    if (given === undefined) {
      if (!field.optional) out[field.name] = field.generate();
      continue;
    }
    const problem = field.check?.(given);
    if (problem !== undefined) problems.push({ field: `credentials.${field.name}`, reason: problem });
    else out[field.name] = given;
  }
  return out;
}
