// Fault injection on the local control plane (hack/cluster.sh): stop, start, freeze components.
// Suites that use it skip themselves when KUBECONFIG points at another cluster (kind, ...).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./kube.ts";

const state = process.env.PACIFIC_CLUSTER_DIR ?? join(root, ".cluster");
const script = join(root, "hack", "cluster.sh");

export type Component = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler";

/** True when KUBECONFIG is the local control plane started by hack/cluster.sh. */
export function isLocalCluster(): boolean {
  return (
    existsSync(join(state, "kube-apiserver.pid")) && process.env.KUBECONFIG === join(state, "kubeconfig")
  );
}

export function pidOf(c: Component): number {
  return Number(readFileSync(join(state, `${c}.pid`), "utf8").trim());
}

export function stopComponent(c: Component): void {
  execFileSync("bash", [script, "stop", c], { stdio: "ignore" });
}

/** Starts whatever is not running and waits until the cluster is ready. */
export function startMissing(): void {
  execFileSync("bash", [script, "up"], { stdio: "ignore", timeout: 180_000 });
}

export function freeze(c: Component): void {
  process.kill(pidOf(c), "SIGSTOP");
}

export function thaw(c: Component): void {
  process.kill(pidOf(c), "SIGCONT");
}

const etcdUrl = `http://127.0.0.1:${process.env.PACIFIC_ETCD_PORT ?? 23790}`;

/** Compacts etcd at its current revision (what kube-apiserver does every 5 minutes). */
export async function compactEtcd(): Promise<number> {
  const range = await fetch(`${etcdUrl}/v3/kv/range`, {
    method: "POST",
    body: JSON.stringify({ key: "AA==" }),
  });
  const revision = Number(((await range.json()) as { header: { revision: string } }).header.revision);
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, {
    method: "POST",
    body: JSON.stringify({ revision: String(revision), physical: true }),
  });
  if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
  return revision;
}
