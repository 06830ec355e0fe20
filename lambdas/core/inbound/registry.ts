import { feishu } from './feishu';
import { generic } from './generic';
import { gerrit } from './gerrit';
import { gitee } from './gitee';
import { github } from './github';
import { gitlab } from './gitlab';
import type { InboundProvider, ProviderId } from './types';
import { PROVIDER_IDS } from './types';
import { wecom } from './wecom';

/** Every provider, by id. Adding one is a module implementing InboundProvider plus a line here. */
export const PROVIDERS: Readonly<Record<ProviderId, InboundProvider>> = {
  github,
  gitlab,
  gitee,
  gerrit,
  feishu,
  wecom,
  generic,
};

export function isProviderId(value: string): value is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(value);
}

export { INBOUND_EVENT_TYPE, isInboundEventType, MAX_INBOUND_EVENT_TYPE_LENGTH } from './event-types';
