/**
 * Independent oracle for integer literals: does the number JSON.stringify writes after JSON.parse
 * denote the same integer? (`119209289550781250000000` does, although the double is not exactly it:
 * it is written back as 1.1920928955078125e+23.)
 */
export function integerSurvivesJson(literal: string): boolean {
  const written = JSON.stringify(Number(literal));
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e\+?(\d+))?$/.exec(written);
  if (match === null) return false; // null for ±Infinity, or a negative exponent
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  const scale = Number(exponent) - fraction.length;
  if (scale < 0) return false;
  return BigInt(`${sign}${whole}${fraction}`) * 10n ** BigInt(scale) === BigInt(literal);
}
