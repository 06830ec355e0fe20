import type { ChildReply, SectionRequest } from './child';
import type { SectionOutcome } from './section';

/** Child entry: runs one section, sends its outcome to the parent, exits. */
const SECTIONS: Record<number, () => Promise<(request: SectionRequest) => Promise<SectionOutcome>>> = {
  1: async () => (await import('./sections/dispatch')).runDispatchSection,
  2: async () => (await import('./sections/fanout')).runFanoutSection,
  4: async () => (await import('./sections/requests')).runRequestsSection,
  5: async () => (await import('./sections/api')).runApiSection,
  6: async () => (await import('./sections/isolation')).runIsolationSection,
};

// The parent is gone (stopped or killed): nobody will read the result.
process.once('disconnect', () => process.exit(1));

process.once('message', (request: SectionRequest) => {
  void run(request).then((reply) => {
    if (process.send === undefined) throw new Error('section-main.ts must be started with an IPC channel');
    process.send(reply, () => process.exit(0));
  });
});

async function run(request: SectionRequest): Promise<ChildReply<SectionOutcome>> {
  try {
    const load = SECTIONS[request.section];
    if (load === undefined) throw new Error(`section ${request.section} does not run in a child`);
    return { ok: true, result: await (await load())(request) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}
