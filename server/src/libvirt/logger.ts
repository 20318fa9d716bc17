/**
 * The logging calls this module makes, in pino's argument order (context
 * object first, then the message), so a pino logger can be passed as is.
 */
export interface LibvirtLogger {
  debug(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

/** Discards every log entry. Used when the caller passes no logger. */
export const silentLogger: LibvirtLogger = {
  debug: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
