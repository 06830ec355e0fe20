import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a running `npm start` publishes in its data dir so helper commands (the CLI, the DLQ
 * redrive) can find it and its stand-ins, whose ports are picked free at every start.
 */
export interface InstanceInfo {
  pid: number;
  apiUrl: string;
  region: string;
  sqsEndpoint: string;
  eventBridgeEndpoint: string;
  eventBus: string;
  /** The DynamoDB stand-in, so `hookline tokens …` can reach the running instance's tables. */
  dynamoDbEndpoint?: string;
  /** Where the development token came from; its value is never written here. */
  tokenSource?: 'HOOKLINE_TOKEN' | 'generated' | 'kept';
  queues: { eventsUrl: string; eventsDlqUrl: string; deliveriesUrl: string; deliveriesDlqUrl: string };
}

const FILE_NAME = 'instance.json';

export function instanceFilePath(dataDir: string): string {
  return join(dataDir, FILE_NAME);
}

export function writeInstanceFile(dataDir: string, info: InstanceInfo): void {
  writeFileSync(instanceFilePath(dataDir), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

export function removeInstanceFile(dataDir: string): void {
  rmSync(instanceFilePath(dataDir), { force: true });
}

/** The running instance of `dataDir`, or undefined when none is (a stale file of a killed one is ignored). */
export function readInstanceFile(dataDir: string): InstanceInfo | undefined {
  let info: InstanceInfo;
  try {
    info = JSON.parse(readFileSync(instanceFilePath(dataDir), 'utf8')) as InstanceInfo;
  } catch {
    return undefined;
  }
  try {
    process.kill(info.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else, so it is running.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return info;
}
