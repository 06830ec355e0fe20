import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { OperatorEventDetail, OperatorEventType } from '../core/operator-events';

/** Suffix of the `source` of operator events: the bus rule that feeds the events queue never matches it. */
export const OPERATOR_SOURCE_SUFFIX = '.operator';

/**
 * Operator events on the Hookline bus: `source` `<eventSource>.operator`, `detail-type`
 * `hookline.<type>` (e.g. `hookline.circuit.opened`), `detail` the ids, reason and times — never a
 * secret or a payload. Operators route them with an EventBridge rule of their own.
 */
export class BusOperatorEvents {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly eventSource: string,
  ) {}

  async publish(type: OperatorEventType, detail: OperatorEventDetail): Promise<void> {
    const result = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: `${this.eventSource}${OPERATOR_SOURCE_SUFFIX}`,
            DetailType: `hookline.${type}`,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    if ((result.FailedEntryCount ?? 0) > 0) throw new Error(`PutEvents refused the entry: ${result.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
  }
}
