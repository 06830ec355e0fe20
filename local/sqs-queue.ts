import { MinHeap } from './sqs-heap';
import type { MessageAttributes } from './sqs-message';

/** A message as the stand-in keeps it, in memory and in its file. */
export interface StoredMessage {
  id: string;
  /** Enqueue order within the stand-in: older messages are handed out first. */
  seq: number;
  body: string;
  md5OfBody: string;
  attributes?: MessageAttributes;
  md5OfAttributes?: string;
  traceHeader?: string;
  md5OfSystemAttributes?: string;
  groupId?: string;
  senderId: string;
  /** SentTimestamp (ms): kept when a redrive policy moves the message to its DLQ. */
  sentAt: number;
  /** Retention ends here. */
  expiresAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The last receive: the 12-hour visibility window counts from it. */
  receivedAt?: number;
  state: 'delayed' | 'visible' | 'inflight';
  /** When a delayed or in-flight message becomes visible. */
  visibleAt: number;
  /** The latest receipt handle; older ones no longer delete or change the message. */
  receipt?: string;
  deadLetterSourceArn?: string;
}

interface Timer {
  at: number;
  message: StoredMessage;
  kind: 'visible' | 'expire';
}

/**
 * The fair-queue model, from "How Amazon SQS fair queues work": a message group (tenant) is a
 * noisy neighbour when it holds more than 10 % of the queue's in-flight messages and at least 30
 * of its own; quiet groups' messages are handed out first (oldest first); among noisy groups, the
 * one with the fewest in flight. A message without a group is a tenant of its own, never noisy.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues-detailed.html
 */
const NOISY_MIN_IN_FLIGHT = 30;
const NOISY_SHARE = 0.1;
const UNGROUPED = '';

/**
 * One queue's messages with indexes for each question a call asks: by id (delete, visibility),
 * visible ones per message group in a heap by age (receive), and one timer heap for delays,
 * visibility deadlines and retention. Entries that went stale (a deleted message, a changed
 * deadline) are skipped when they surface and swept when they outnumber the live ones.
 */
export class QueueMessages {
  private readonly byId = new Map<string, StoredMessage>();
  private readonly ready = new Map<string, MinHeap<StoredMessage>>();
  private readonly timers = new MinHeap<Timer>((a, b) => a.at < b.at);
  private readonly groupInFlight = new Map<string, number>();
  readonly counts = { visible: 0, inflight: 0, delayed: 0 };

  get size(): number {
    return this.byId.size;
  }

  get(id: string): StoredMessage | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<StoredMessage> {
    return this.byId.values();
  }

  /** Adds a message in its `state` (visible or delayed until `visibleAt`). */
  add(message: StoredMessage): void {
    this.byId.set(message.id, message);
    this.count(message, 1);
    this.timers.push({ at: message.expiresAt, message, kind: 'expire' });
    if (message.state === 'visible') this.pushReady(message);
    else this.timers.push({ at: message.visibleAt, message, kind: 'visible' });
  }

  remove(message: StoredMessage): void {
    if (this.byId.get(message.id) !== message) return;
    this.byId.delete(message.id);
    this.count(message, -1);
  }

  /** Applies every delay, visibility deadline and retention end due at `now`. */
  advance(now: number): void {
    for (let timer = this.liveTimer(); timer !== undefined && timer.at <= now; timer = this.liveTimer()) {
      this.timers.pop();
      const { message } = timer;
      if (timer.kind === 'expire') {
        this.remove(message);
      } else {
        this.setState(message, 'visible');
        this.pushReady(message);
      }
    }
    if (this.timers.size > 4 * this.byId.size + 1024) this.sweepTimers();
  }

  /** The next time `advance` has something to do. */
  nextDueAt(): number | undefined {
    return this.liveTimer()?.at;
  }

  /** The earliest timer still meaning something; stale ones (deleted message, changed deadline) are dropped. */
  private liveTimer(): Timer | undefined {
    for (let timer = this.timers.peek(); timer !== undefined; timer = this.timers.peek()) {
      const { message } = timer;
      const live =
        this.byId.get(message.id) === message &&
        (timer.kind === 'expire' ? message.expiresAt === timer.at : message.state !== 'visible' && message.visibleAt === timer.at);
      if (live) return timer;
      this.timers.pop();
    }
    return undefined;
  }

  /** Takes the next visible message to hand out (fair-queue order), still marked visible. */
  takeNext(): StoredMessage | undefined {
    let best: { heap: MinHeap<StoredMessage>; head: StoredMessage; noisy: boolean; inFlight: number } | undefined;
    for (const [group, heap] of this.ready) {
      const head = this.liveHead(heap);
      if (head === undefined) {
        this.ready.delete(group);
        continue;
      }
      const inFlight = group === UNGROUPED ? 0 : (this.groupInFlight.get(group) ?? 0);
      const noisy = inFlight >= NOISY_MIN_IN_FLIGHT && inFlight > NOISY_SHARE * this.counts.inflight;
      const better =
        best === undefined ||
        (best.noisy && !noisy) ||
        (best.noisy === noisy && (noisy && inFlight !== best.inFlight ? inFlight < best.inFlight : head.seq < best.head.seq));
      if (better) best = { heap, head, noisy, inFlight };
    }
    best?.heap.pop();
    return best?.head;
  }

  /** A visible message taken by `takeNext` is now in flight until `until`. */
  markInFlight(message: StoredMessage, until: number): void {
    this.setState(message, 'inflight');
    this.setDeadline(message, until);
  }

  /** A new visibility deadline for an in-flight message; a past one makes it visible now. */
  changeVisibility(message: StoredMessage, until: number, now: number): void {
    if (until <= now) {
      message.visibleAt = now;
      this.setState(message, 'visible');
      this.pushReady(message);
    } else {
      this.setDeadline(message, until);
    }
  }

  /** Retention changed: every message's end is recomputed. */
  setRetention(retentionMs: number): void {
    for (const message of this.byId.values()) message.expiresAt = message.sentAt + retentionMs;
    this.sweepTimers();
  }

  clear(): void {
    for (const message of [...this.byId.values()]) this.remove(message);
    this.ready.clear();
    this.timers.rebuild([]);
  }

  private setDeadline(message: StoredMessage, until: number): void {
    message.visibleAt = until;
    this.timers.push({ at: until, message, kind: 'visible' });
  }

  private pushReady(message: StoredMessage): void {
    const group = message.groupId ?? UNGROUPED;
    let heap = this.ready.get(group);
    if (heap === undefined) {
      heap = new MinHeap<StoredMessage>((a, b) => a.seq < b.seq);
      this.ready.set(group, heap);
    }
    heap.push(message);
  }

  private liveHead(heap: MinHeap<StoredMessage>): StoredMessage | undefined {
    for (let head = heap.peek(); head !== undefined; head = heap.peek()) {
      if (this.byId.get(head.id) === head && head.state === 'visible') return head;
      heap.pop();
    }
    return undefined;
  }

  private setState(message: StoredMessage, state: StoredMessage['state']): void {
    this.count(message, -1);
    message.state = state;
    this.count(message, 1);
  }

  private count(message: StoredMessage, delta: 1 | -1): void {
    this.counts[message.state] += delta;
    if (message.state !== 'inflight' || message.groupId === undefined) return;
    const inFlight = (this.groupInFlight.get(message.groupId) ?? 0) + delta;
    if (inFlight === 0) this.groupInFlight.delete(message.groupId);
    else this.groupInFlight.set(message.groupId, inFlight);
  }

  private sweepTimers(): void {
    const live: Timer[] = [];
    for (const message of this.byId.values()) {
      live.push({ at: message.expiresAt, message, kind: 'expire' });
      if (message.state !== 'visible') live.push({ at: message.visibleAt, message, kind: 'visible' });
    }
    this.timers.rebuild(live);
  }
}
