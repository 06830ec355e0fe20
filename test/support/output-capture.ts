/**
 * Captures everything written to stdout and stderr: the Powertools loggers of the handlers write
 * there (one JSON object per line), as do the local stand-ins. Tests read it back to prove what
 * was, and was not, logged.
 */
export interface OutputCapture {
  /** Every captured chunk, joined. */
  text(): string;
  /** Parsed Powertools log lines (JSON objects with a `level`). */
  logLines(): Record<string, unknown>[];
  /** Drops what was captured so far. */
  clear(): void;
  restore(): void;
}

export function captureOutput(options: { echo?: boolean } = {}): OutputCapture {
  let chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write.bind(stream));
  streams.forEach((stream, index) => {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((item) => typeof item === 'function') as (() => void) | undefined;
      if (options.echo === true) return (originals[index] as (...args: unknown[]) => boolean)(chunk, ...rest);
      callback?.();
      return true;
    }) as typeof stream.write;
  });
  return {
    text: () => chunks.join(''),
    logLines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trimStart().startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        })
        .filter((line) => typeof line.level === 'string'),
    clear: () => {
      chunks = [];
    },
    restore: () => {
      streams.forEach((stream, index) => {
        stream.write = originals[index] as typeof stream.write;
      });
    },
  };
}
