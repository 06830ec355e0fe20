import { PROVIDER_IDS } from './types';

/**
 * The shape of every inbound event type: `<provider>.<dotted lower-case words>`. Kept apart from
 * the providers so fan-out and the catalog check import this and not the provider code.
 */
export const INBOUND_EVENT_TYPE = new RegExp(`^(${PROVIDER_IDS.join('|')})(\\.[a-z0-9_]+)+$`);
export const MAX_INBOUND_EVENT_TYPE_LENGTH = 128;

export function isInboundEventType(type: string): boolean {
  return type.length <= MAX_INBOUND_EVENT_TYPE_LENGTH && INBOUND_EVENT_TYPE.test(type);
}
