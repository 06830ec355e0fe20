/**
 * Numbers JavaScript cannot hold exactly. JSON.parse turns `123456789012345678901234567890` into
 * 1.2345678901234568e+29 and `1e400` into Infinity (which JSON.stringify writes as `null`), so
 * such a number would reach the receiver changed without anyone being told. Hookline refuses it
 * instead (a 400 naming the field on the API, a dead-lettered message with the reason on the bus),
 * and the producer can send it as a string.
 *
 * "Exactly" means the literal's decimal value survives parse and serialise: `1.0`, `1e2` and `0.1`
 * are fine (they come back as 1, 100 and 0.1); `9007199254740993`, `0.10000000000000000001`,
 * `1e400` and `1e-400` are not. `-0` counts as 0.
 */

export interface InexactNumber {
  /** Where it is: object keys and array indexes from the root. */
  path: (string | number)[];
  /** The producer's literal, shortened for messages. */
  literal: string;
  /** What JavaScript would make of it. */
  becomes: string;
}

const NUMBER_LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const NUMBER_PARTS = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * A canonical form of a decimal literal: sign, significant digits, exponent (`-12e3` for -12000).
 * Exponents far beyond any double are kept as text arithmetic would overflow; they never compare
 * equal to a finite double's form anyway.
 */
function canonical(literal: string): string {
  const match = NUMBER_PARTS.exec(literal);
  if (match === null) return literal;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  const scale = Number(exponent) - fraction.length + trailing;
  return `${sign}${digits}e${scale}`;
}

/** True when JSON.parse followed by JSON.stringify keeps this number literal's value. */
export function isExactNumberLiteral(literal: string): boolean {
  // Up to 15 significant digits always round-trip through a double when the result is finite
  // and normal; most real numbers take this path.
  if (/^-?\d{1,15}$/.test(literal)) return true;
  const value = Number(literal);
  if (!Number.isFinite(value)) return false;
  return canonical(literal) === canonical(String(value));
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

interface Frame {
  kind: 'object' | 'array';
  key: string | number;
  /** In an object: the next string is a key. */
  expectKey: boolean;
}

/**
 * Finds the first number literal in a JSON text that JavaScript cannot hold exactly, with its
 * path. The text must already have passed JSON.parse: this walks it without re-validating.
 * One pass, no recursion, so any nesting depth is fine.
 */
export function findInexactNumber(text: string): InexactNumber | undefined {
  // Fast path: a text whose number literals are all short integers needs no walk.
  if (!/\d[.eE]|\d{16}/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) return undefined;
  const stack: Frame[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index] as string;
    if (char === '{' || char === '[') {
      stack.push({ kind: char === '{' ? 'object' : 'array', key: 0, expectKey: char === '{' });
      index += 1;
    } else if (char === '}' || char === ']') {
      stack.pop();
      index += 1;
    } else if (char === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'array') top.key = (top.key as number) + 1;
      else if (top !== undefined) top.expectKey = true;
      index += 1;
    } else if (char === '"') {
      const end = stringEnd(text, index);
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.expectKey) {
        top.key = JSON.parse(text.slice(index, end)) as string;
        top.expectKey = false;
      }
      index = end;
    } else if (char === '-' || (char >= '0' && char <= '9')) {
      NUMBER_LITERAL.lastIndex = index;
      const literal = NUMBER_LITERAL.exec(text)?.[0] ?? char;
      if (!isExactNumberLiteral(literal)) {
        return { path: stack.map((frame) => frame.key), literal: shorten(literal), becomes: shorten(JSON.stringify(Number(literal))) };
      }
      index += literal.length;
    } else {
      index += 1;
    }
  }
  return undefined;
}

/** Index just past the closing quote of the string literal starting at `start`. */
function stringEnd(text: string, start: number): number {
  let index = start + 1;
  while (index < text.length) {
    const char = text[index];
    if (char === '\\') index += 2;
    else if (char === '"') return index + 1;
    else index += 1;
  }
  return index;
}

/** The reason shown with a refused number. */
export function inexactNumberReason(found: InexactNumber): string {
  return `is a number JavaScript cannot hold exactly (${found.literal} would become ${found.becomes}); send it as a string`;
}
