// Helpers shared by the e2e suites: clients for the cluster in KUBECONFIG, applying CRDs, waiting.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";

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

/** HTTP status of a failed client-node call, or undefined. */
export function statusCode(e: unknown): number | undefined {
  return e instanceof k8s.ApiException ? e.code : undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusCode(e) === 404;
}

/** Creates or replaces every CRD in the given files of crds/ and waits until each is Established. */
export async function applyCrds(kc: k8s.KubeConfig, files: string[]): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(root, "crds", file), "utf8"))) {
      const crd = doc.toJS() as k8s.V1CustomResourceDefinition;
      const name = crd.metadata!.name!;
      try {
        const current = await ext.readCustomResourceDefinition({ name });
        crd.metadata!.resourceVersion = current.metadata!.resourceVersion;
        await ext.replaceCustomResourceDefinition({ name, body: crd });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        await ext.createCustomResourceDefinition({ body: crd });
      }
      await eventually(`CRD ${name} Established`, async () => {
        const c = await ext.readCustomResourceDefinition({ name });
        return c.status?.conditions?.some((x) => x.type === "Established" && x.status === "True");
      });
    }
  }
}

/** A name unique to this test run, so suites never collide with leftovers. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
}
