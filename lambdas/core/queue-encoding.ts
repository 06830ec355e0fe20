/**
 * How a JSON value is written into an SQS message body.
 *
 * SQS accepts only the XML 1.0 characters `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 * #x10000-#x10FFFF` in a body and refuses the message otherwise (`InvalidMessageContents`; older
 * versions of the same reference page say it replaced them with U+FFFD) — SQS API reference,
 * SendMessage, parameter `MessageBody`. Event data may hold U+FFFE, U+FFFF or any other string a
 * JSON document can carry, so the body escapes them as JSON `\uXXXX` sequences: JSON.parse on the
 * consumer's side restores exactly the same strings, and the envelope signed from them is
 * byte-identical to one built from the producer's data.
 *
 * Characters outside the Basic Multilingual Plane (emoji, as surrogate pairs) are allowed by AWS
 * but refused by some SQS emulators; they are escaped too, so one encoding travels through every
 * implementation. Worst case the body grows 3× over `JSON.stringify` (a 4-byte UTF-8 character
 * becomes two 6-byte escapes); {@link encodedJsonBytes} measures it before anything is stored.
 */

/** Every UTF-16 code unit outside `#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD`: lone or paired surrogates, U+FFFE, U+FFFF, C0 controls. */
const OUTSIDE_PORTABLE_SET = /[^\t\n\r\x20-\ud7ff\ue000-\ufffd]/g;

/**
 * A message's byte budget. SQS accepted 256 KiB per message and per batch for years and now
 * accepts up to 1 MiB (the queue's MaximumMessageSize); keeping to the smaller fits every queue.
 */
export const SQS_MESSAGE_BUDGET_BYTES = 262_144;

function escapeUnit(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Escapes every code unit SQS (or an emulator) could refuse in a JSON text. Outside string
 * literals JSON is ASCII, and JSON.stringify already escapes C0 controls and lone surrogates, so
 * what is left to escape lies inside string literals where `\uXXXX` means the same character.
 */
export function escapeForQueue(json: string): string {
  return json.replace(OUTSIDE_PORTABLE_SET, escapeUnit);
}

/** The message body for a JSON value: `JSON.stringify` with SQS-refused characters escaped. */
export function encodeQueueBody(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('a queue message must be a JSON value');
  return escapeForQueue(json);
}

/** True when every character of `body` is one SQS accepts (and that emulators accept too). */
export function isQueueSafe(body: string): boolean {
  return !/[^\t\n\r\x20-\ud7ff\ue000-\ufffd]/.test(body);
}

/** UTF-8 bytes of a value once encoded for a queue. */
export function encodedJsonBytes(value: unknown): number {
  return Buffer.byteLength(encodeQueueBody(value), 'utf8');
}

/**
 * Room kept for a message's fields around the event's data (ids, type, timestamp, reason):
 * a delivery message adds a few hundred bytes, this keeps well clear of the budget.
 */
export const QUEUE_MESSAGE_OVERHEAD_BYTES = 4_096;

/** A reason when `data` could not ride in a queue message; undefined when it fits. */
export function queueSizeProblem(data: unknown): string | undefined {
  const bytes = encodedJsonBytes(data);
  const limit = SQS_MESSAGE_BUDGET_BYTES - QUEUE_MESSAGE_OVERHEAD_BYTES;
  return bytes > limit
    ? `is ${bytes} bytes once escaped for the queue (characters outside the Basic Multilingual Plane count 12 bytes each); at most ${limit}`
    : undefined;
}
