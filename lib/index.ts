/**
 * The Hookline construct library: `WebhookService` for any CDK app, and `HooklineStack`, the
 * standalone stack configured from `cdk.json` context.
 */
export {
  WebhookService,
  DISPATCHER_SERVICE_NAME,
  EVENT_SOURCE_BATCH_SIZE,
  OUTPUT_NAMES,
  REDRIVE_DLQ_ACTIONS,
  type HooklineLogLevel,
  type HooklineSettingsProps,
  type WebhookServiceProps,
} from './webhook-service';
export type { HooklineCustomDomain } from './api';
export type { HooklineStaticEgress } from './egress';
export { HooklineMonitoring, type DeliveryMetricSource } from './monitoring';
export { HooklineStack, type HooklineStackProps } from './hookline-stack';
export { parseHooklineContext, type HooklineContext } from './context';
