import { randomBytes } from 'node:crypto';
import type { DeliveryMessage } from './records';

/** A deliveries-queue message, stamped with a fresh nonce. Every stage builds its messages here. */
export function deliveryMessage(fields: Omit<DeliveryMessage, 'v' | 'nonce'>): DeliveryMessage {
  return { v: 1, ...fields, nonce: newNonce() };
}

/** The same message sent again (the next attempt, a hop, a wait): a new message, so a new nonce. */
export function resent(message: DeliveryMessage, changes: Partial<Pick<DeliveryMessage, 'round' | 'attempt' | 'notBefore'>>): DeliveryMessage {
  const { notBefore: _previous, ...rest } = message;
  return { ...rest, ...changes, nonce: newNonce() };
}

/** 96 random bits, base64url: unique enough to tell two messages of one delivery apart. */
function newNonce(): string {
  return randomBytes(12).toString('base64url');
}
