/**
 * The sort-key part of a Query's key condition for `from <= key <= to`, either bound optional, and
 * the values it names (`:since`, `:until`). Callers pass bounds already in the key's own form.
 */
export function sortKeyRange(sortKey: string, from: string | undefined, to: string | undefined): { condition: string; values: Record<string, string> } {
  const values: Record<string, string> = {};
  if (from !== undefined) values[':since'] = from;
  if (to !== undefined) values[':until'] = to;
  if (from !== undefined && to !== undefined) return { condition: ` AND ${sortKey} BETWEEN :since AND :until`, values };
  if (from !== undefined) return { condition: ` AND ${sortKey} >= :since`, values };
  if (to !== undefined) return { condition: ` AND ${sortKey} <= :until`, values };
  return { condition: '', values };
}
