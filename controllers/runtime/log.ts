// Structured JSON logs (pino). Every line about an object names its kind, namespace and name.
import { pino } from "pino";

export type Logger = pino.Logger;

export function newLogger(name = "pacific", level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    name,
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** The fields that identify an object in a log line. */
export function objectFields(
  kind: string,
  meta: { namespace?: string; name?: string } | undefined,
): { kind: string; namespace?: string; name?: string } {
  return meta?.namespace ? { kind, namespace: meta.namespace, name: meta.name } : { kind, name: meta?.name };
}

/** A logger that writes nothing (unit tests, benchmarks). */
export const silentLogger: Logger = pino({ level: "silent" });
