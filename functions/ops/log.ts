/**
 * Structured logs: one JSON object per line on stdout, which Knative, Cloud Logging and any
 * Kubernetes log collector pick up as is. `severity` and `message` follow the Cloud Logging
 * convention that functions-framework uses too. Hand-written (a dozen lines) because the function
 * pays every import on each cold start; see docs/benchmarks.md.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Cloud Logging's severity names (what Knative and GKE log agents read): `WARNING`, not `WARN`, or
 * the line is filed under DEFAULT.
 */
const SEVERITY: Readonly<Record<LogLevel, string>> = {debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR'};

export type LogFields = Record<string, string | number | boolean | undefined | readonly string[]>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /**
   * Whether a line at `level` would be written, for callers whose fields cost something to build
   * (the decision line, once per review). Absent: assume it would.
   */
  enabled?(level: LogLevel): boolean;
}

/** LOG_LEVEL's value; `warning` (Cloud Logging's word) is taken for `warn`, anything unknown for `info`. */
export function parseLogLevel(value: string | undefined): LogLevel {
  const wanted = (value ?? '').toLowerCase();
  return LOG_LEVELS.find(l => l === wanted) ?? (wanted === 'warning' ? 'warn' : 'info');
}

/** A logger writing at `minimum` and above to `write` (stdout by default). */
export function jsonLogger(minimum: LogLevel, write: (line: string) => void = line => process.stdout.write(line)): Logger {
  const floor = LOG_LEVELS.indexOf(minimum);
  return {
    enabled: level => LOG_LEVELS.indexOf(level) >= floor,
    log(level, message, fields = {}) {
      if (LOG_LEVELS.indexOf(level) < floor) return;
      // JSON.stringify escapes newlines and quotes, so no value can forge or split a line.
      write(`${JSON.stringify({severity: SEVERITY[level], time: new Date().toISOString(), message, ...fields})}\n`);
    },
  };
}

export const silentLogger: Logger = {log() {}, enabled: () => false};
