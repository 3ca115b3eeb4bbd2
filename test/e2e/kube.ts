// Helpers shared by the e2e suites: clients for the cluster in KUBECONFIG, applying CRDs, waiting.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import { CustomResourceDefinitions } from "../../controllers/runtime/resource.ts";

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

/**
 * Server-side applies every CRD in the given files of crds/ and waits until each is Established.
 * Through our own client: client-node's typed serializer drops `x-kubernetes-*` schema fields.
 */
export async function applyCrds(kc: k8s.KubeConfig, files: string[]): Promise<void> {
  const client = new KubeClient(kc);
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(root, "crds", file), "utf8"))) {
      const crd = doc.toJS() as KubeObject;
      const name = crd.metadata!.name!;
      await client.patch(CustomResourceDefinitions, name, undefined, crd, { type: "apply" });
      await eventually(`CRD ${name} Established`, async () => {
        const c = await client.get<k8s.V1CustomResourceDefinition>(CustomResourceDefinitions, name);
        return c.status?.conditions?.some((x) => x.type === "Established" && x.status === "True");
      });
    }
  }
}

/** A name unique to this test run, so suites never collide with leftovers. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
}
