/**
 * Limits on an event's `data` beyond its size. Serialising, signing and storing a document walk it
 * recursively, so a document nested thousands of levels deep (a few KB of `[[[[…]]]]`) would
 * overflow the stack instead of being refused; real payloads nest a handful of levels.
 */
export const MAX_EVENT_DATA_DEPTH = 64;

/**
 * Nesting depth of a JSON value: 0 for a scalar, 1 for a flat object or array. Iterative, so any
 * depth is measured without recursion; stops counting once past `limit`.
 */
export function jsonDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof current !== 'object' || current === null) continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: level });
    }
  }
  return deepest;
}

/** A reason when `data` nests deeper than {@link MAX_EVENT_DATA_DEPTH}; undefined when it is fine. */
export function eventDataDepthProblem(data: unknown): string | undefined {
  return jsonDepth(data, MAX_EVENT_DATA_DEPTH) > MAX_EVENT_DATA_DEPTH
    ? `must not nest objects and arrays more than ${MAX_EVENT_DATA_DEPTH} levels deep`
    : undefined;
}
