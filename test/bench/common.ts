// Shared by the benchmarks: the cluster, the machine, bounded-concurrency helpers, percentiles.
import os from "node:os";
import * as k8s from "@kubernetes/client-node";
import { KubeClient } from "../../controllers/runtime/client.ts";

export function kubeConfig(): k8s.KubeConfig {
  if (!process.env.KUBECONFIG)
    throw new Error("benchmarks need KUBECONFIG (npm run cluster:up, then eval $(bash hack/cluster.sh env))");
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  return kc;
}

/** A client without client-side rate limits, as kwok runs (docs/performance.md: the same treatment for both). */
export function benchClient(kc: k8s.KubeConfig): KubeClient {
  return new KubeClient(kc, { qps: 0 });
}

export async function environment(client: KubeClient): Promise<Record<string, unknown>> {
  const v = await client.request<{ gitVersion: string }>("GET", "/version");
  return {
    kubernetes: v.gitVersion,
    node: process.version,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;
export const mib = (bytes: number): number => round(bytes / 2 ** 20, 1);

/**
 * Least-squares slope of `value` over time, in units per 10 minutes, over the samples of the last
 * `windowMs` (all of them when the run is shorter). NaN with fewer than 2 samples in the window.
 */
export function slopePer10Min(samples: { atMs: number; value: number }[], windowMs: number): number {
  const end = samples.at(-1)?.atMs ?? 0;
  const w = samples.filter((s) => s.atMs >= end - windowMs);
  if (w.length < 2) return Number.NaN;
  const mx = w.reduce((a, s) => a + s.atMs, 0) / w.length;
  const my = w.reduce((a, s) => a + s.value, 0) / w.length;
  let num = 0;
  let den = 0;
  for (const s of w) {
    num += (s.atMs - mx) * (s.value - my);
    den += (s.atMs - mx) ** 2;
  }
  return den === 0 ? Number.NaN : (num / den) * 600_000;
}
