/** Command-line flags of `npm run bench`; every size and loop is settable, `--quick` shrinks them all. */

export const SECTION_IDS = [1, 2, 3, 4, 5, 6] as const;
export type SectionId = (typeof SECTION_IDS)[number];

export interface BenchOptions {
  quick: boolean;
  sections: SectionId[];
  /** Where results.json is written. */
  out: string;
  /** Section 1: deliveries per variant and round (1 KB bodies). */
  deliveries: number;
  /** Section 1: deliveries per round of the 64 KB variant. */
  largeDeliveries: number;
  /** Section 1: POSTs in flight, for Hookline (concurrency / 10 invocations of 10 records) and the baseline alike. */
  concurrency: number;
  /** Section 1 and 2: alternating baseline/Hookline rounds; the median round counts. */
  rounds: number;
  /** Section 2: matching subscriptions per event. */
  fanoutSizes: number[];
  /** Section 2: delivery messages to enqueue per size (events = this / size, at least 2). */
  fanoutMessages: number;
  /** Section 3: fresh node processes per bundle (≥ 10 for a real run). */
  coldRuns: number;
  /** Section 4: events published per scenario. */
  costEvents: number;
  /** Section 4: subscriptions of the fan-out scenario. */
  costFanout: number;
  /** Section 4: endpoint response time assumed for the Lambda duration of a real delivery. */
  endpointLatencyMs: number;
  /** Section 5: measured requests per route (and GetItems for the baseline). */
  apiRequests: number;
  /** Upper bound of any one timed loop; a loop that reaches it stops and reports what it measured. */
  loopTimeLimitMs: number;
}

const FULL: Omit<BenchOptions, 'quick' | 'sections' | 'out'> = {
  deliveries: 6_000,
  largeDeliveries: 1_500,
  concurrency: 20,
  rounds: 3,
  fanoutSizes: [1, 100, 1_000, 10_000],
  fanoutMessages: 20_000,
  coldRuns: 15,
  costEvents: 20,
  costFanout: 10,
  endpointLatencyMs: 100,
  apiRequests: 300,
  loopTimeLimitMs: 20_000,
};

const QUICK: typeof FULL = {
  deliveries: 60,
  largeDeliveries: 20,
  concurrency: 10,
  rounds: 1,
  fanoutSizes: [1, 25],
  fanoutMessages: 50,
  coldRuns: 2,
  costEvents: 2,
  costFanout: 3,
  endpointLatencyMs: 100,
  apiRequests: 8,
  loopTimeLimitMs: 5_000,
};

export const USAGE = `Usage: npm run bench -- [flags]
  --quick                    tiny sizes (smoke run)
  --help                     this text
  --sections=1,2,3,4,5,6     which sections to run
  --out=bench/results.json   where the machine-readable results go
  --deliveries=N             section 1: deliveries per variant and round (1 KB)
  --large-deliveries=N       section 1: deliveries per round of the 64 KB variant
  --concurrency=N            section 1: POSTs in flight (multiple of 10)
  --rounds=N                 sections 1-2: alternating baseline/Hookline rounds
  --fanout-sizes=1,100,...   section 2: matching subscriptions per event
  --fanout-messages=N        section 2: messages enqueued per size
  --cold-runs=N              section 3: fresh processes per bundle
  --cost-events=N            section 4: events per scenario
  --cost-fanout=N            section 4: subscriptions of the fan-out scenario
  --endpoint-latency-ms=N    section 4: endpoint response time assumed for Lambda duration
  --api-requests=N           section 5: requests per route
  --loop-time-limit-ms=N     bound of any one timed loop`;

type NumericKey = Exclude<keyof typeof FULL, 'fanoutSizes'>;

const NUMERIC_FLAGS: Record<string, NumericKey> = {
  deliveries: 'deliveries',
  'large-deliveries': 'largeDeliveries',
  concurrency: 'concurrency',
  rounds: 'rounds',
  'fanout-messages': 'fanoutMessages',
  'cold-runs': 'coldRuns',
  'cost-events': 'costEvents',
  'cost-fanout': 'costFanout',
  'endpoint-latency-ms': 'endpointLatencyMs',
  'api-requests': 'apiRequests',
  'loop-time-limit-ms': 'loopTimeLimitMs',
};

const VALUE_FLAGS = new Set(['out', 'sections', 'fanout-sizes', ...Object.keys(NUMERIC_FLAGS)]);

/** Parses `--name=value` / `--name value` flags; throws an Error naming the bad flag. */
export function parseOptions(argv: readonly string[], defaultOut: string): BenchOptions {
  const flags = new Map<string, string>();
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
    const [name, inline] = splitFlag(arg.slice(2));
    if (name === 'quick') {
      flags.set(name, 'true');
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new Error(`unknown flag --${name}\n${USAGE}`);
    const value = inline ?? argv[(index += 1)];
    if (value === undefined) throw new Error(`--${name} needs a value\n${USAGE}`);
    flags.set(name, value);
  }
  const quick = flags.has('quick');
  const options: BenchOptions = { quick, sections: [...SECTION_IDS], out: defaultOut, ...(quick ? QUICK : FULL) };
  for (const [name, value] of flags) {
    if (name === 'quick') continue;
    if (name === 'out') options.out = value;
    else if (name === 'sections') options.sections = parseSections(value);
    else if (name === 'fanout-sizes') options.fanoutSizes = parseList(name, value);
    else {
      options[NUMERIC_FLAGS[name] as NumericKey] = positiveInteger(name, value);
    }
  }
  if (options.concurrency % 10 !== 0) throw new Error('--concurrency must be a multiple of 10 (invocations of 10 records)');
  return options;
}

function splitFlag(text: string): [string, string | undefined] {
  const equals = text.indexOf('=');
  return equals < 0 ? [text, undefined] : [text.slice(0, equals), text.slice(equals + 1)];
}

function positiveInteger(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return number;
}

function parseList(name: string, value: string): number[] {
  const numbers = value.split(',').map((part) => positiveInteger(name, part.trim()));
  if (numbers.length === 0) throw new Error(`--${name} needs at least one number`);
  return numbers;
}

function parseSections(value: string): SectionId[] {
  const wanted = parseList('sections', value);
  for (const id of wanted) {
    if (!(SECTION_IDS as readonly number[]).includes(id)) throw new Error(`--sections: there is no section ${id} (1-6)`);
  }
  return SECTION_IDS.filter((id) => wanted.includes(id));
}
