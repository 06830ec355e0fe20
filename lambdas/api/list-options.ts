import { DEFAULT_PAGE_SIZE } from './schemas';

/** A validated list query: paging, optional filters, and ISO times as the client wrote them. */
interface ListQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

type Defined<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/**
 * What a store's list takes from a list query: the default page size, the filters the client gave
 * (absent ones left out, as the stores' optional fields want), and the times rewritten by
 * `toISOString()`, because index keys hold that form and `+02:00` must compare in it.
 */
export function listOptions<Q extends ListQuery>(query: Q): Defined<Omit<Q, 'limit'>> & { limit: number } {
  const options: Record<string, unknown> = { limit: query.limit ?? DEFAULT_PAGE_SIZE };
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || key === 'limit') continue;
    options[key] = key === 'since' || key === 'until' ? new Date(value as string).toISOString() : value;
  }
  return options as Defined<Omit<Q, 'limit'>> & { limit: number };
}
