import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { apiStatus } from "../../controllers/runtime/errors.ts";

export const root = join(import.meta.dirname, "..", "..");

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  return kc;
}

/** Polls `fn` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** HTTP status of a failed call (client-node's ApiException or our ApiError), or undefined. */
export function statusCode(e: unknown): number | undefined {
  return apiStatus(e).code || undefined;
}

export { isNotFound } from "../../controllers/runtime/errors.ts";

/** A name unique to this test run, so suites never collide with leftovers. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
}
