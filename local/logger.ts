/**
 * What the local stand-ins log through. Method syntax keeps a Powertools Logger or `console`
 * assignable to it.
 */
export interface LocalLogger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

/** Console logging without debug lines, so `npm start` and tests stay quiet unless something is wrong. */
export const defaultLogger: LocalLogger = {
  debug: () => undefined,
  info: (message, ...details) => console.info(message, ...details),
  warn: (message, ...details) => console.warn(message, ...details),
  error: (message, ...details) => console.error(message, ...details),
};

/** Error text for a log line: the message only, never a request body or a secret value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
