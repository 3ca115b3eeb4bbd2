// The Spherelet's pod loop: one key per ESXi host (like a kubelet's sync loop), so admission on a
// host is decided one pod at a time. For every pod bound to the host: admit or reject
// (OutOfcpu/OutOfmemory/OutOfpods), Pending → Running after the start delay, Ready again after an
// outage, and graceful deletion ending in terminated containers and the object removed.
// A failed host (heartbeats off) does nothing at all, as a dead kubelet would.
import type { V1Pod } from "@kubernetes/client-node";
import PQueue from "p-queue";
import { SimulationAnnotations } from "../api/contracts.ts";
import type { Client } from "../runtime/client.ts";
import type { Reconciler, Request, Result } from "../runtime/controller.ts";
import type { Logger } from "../runtime/log.ts";
import { Pods } from "../runtime/resource.ts";
import { delayWithJitter, durationOr, type SimulationSettings } from "../settings.ts";
import { heartbeatsOn, type Inventory, NODE_INDEX } from "../shared/placement/inventory.ts";
import { hostAdmission } from "./hostadmission.ts";
import { isAdmitted, isTerminalPod, terminatedStatus } from "./pod.ts";
import { ignoreGoneOrReplaced, PodStatusWriter } from "./podstatus.ts";
import { hostNode, type PodAction, planHost } from "./sync.ts";

/** A host where some pod's write failed looks again this soon (not the error backoff). */
const FAILED_WRITE_RETRY_MS = 5_000;

export class SpherletReconciler implements Reconciler {
  private readonly statuses: PodStatusWriter;
  private readonly writes = new PQueue({ concurrency: 64 });

  constructor(
    private readonly client: Client,
    private readonly inv: Inventory,
    private readonly settings: SimulationSettings,
  ) {
    this.statuses = new PodStatusWriter(client, inv.pods);
  }

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const host = this.inv.hosts.store.get(req.name);
    const node = this.inv.nodes.store.get(req.name);
    if (!host || !node || !heartbeatsOn(host)) return undefined;
    const hn = hostNode(node);
    if (!hn) return undefined; // the ESXiHost controller has not posted the node yet
    const now = new Date();
    const pods = this.inv.pods.store
      .byIndex(NODE_INDEX, req.name)
      .filter((p) => !this.statuses.removed(p))
      .map((p) => this.statuses.effective(p));
    const pass = planHost(hn, pods, now, (p) => this.startDelay(p), hostAdmission(host, node));
    // One pod's failed write (its status too large, say) must not stall its neighbours: the host is
    // backed off only when every write failed (the API server is away); otherwise it looks again soon.
    const results = await Promise.allSettled(
      pass.actions.map((a) => this.writes.add(() => this.carryOut(a, now, log))),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length && failed.length === results.length) throw failed[0]?.reason;
    for (const f of failed) log.error({ err: String(f.reason) }, "writing a pod's status failed");
    const wakeAt = failed.length
      ? Math.min(pass.wakeAt ?? Number.POSITIVE_INFINITY, Date.now() + FAILED_WRITE_RETRY_MS)
      : pass.wakeAt;
    return wakeAt === undefined ? undefined : { requeueAfter: Math.max(10, wakeAt - Date.now()) };
  }

  private async carryOut(a: PodAction, now: Date, log: Logger): Promise<void> {
    if (a.kind === "finishDeletion") return this.finishDeletion(a.pod, now, log);
    if (a.rejected) {
      const m = a.pod.metadata;
      log.info(
        { kind: "Pod", namespace: m?.namespace, name: m?.name, reason: a.rejected.reason },
        a.rejected.message,
      );
    }
    await this.statuses.write(a.pod, a.status);
  }

  private startDelay(pod: V1Pod): number {
    const a = pod.metadata?.annotations ?? {};
    const delay = durationOr(a[SimulationAnnotations.podStartDelay], this.settings.podStartDelayMs);
    const jitter = durationOr(a[SimulationAnnotations.podStartJitter], this.settings.podStartJitterMs);
    return delayWithJitter(delay, jitter, pod.metadata?.uid ?? "");
  }

  /** Stops the containers, then removes the object (the kubelet's final delete with grace 0). */
  private async finishDeletion(pod: V1Pod, now: Date, log: Logger): Promise<void> {
    const ns = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    if (
      !isTerminalPod(pod) &&
      isAdmitted(pod) &&
      pod.status?.containerStatuses?.some((c) => !c.state?.terminated)
    ) {
      await this.statuses.write(pod, terminatedStatus(pod, now));
    }
    const gone = await this.client
      .delete(Pods, name, ns, { gracePeriodSeconds: 0, uid: pod.metadata?.uid })
      .then(() => true)
      .catch(ignoreGoneOrReplaced);
    // Removed, or already gone/replaced: either way this uid is not deleted again.
    this.statuses.markRemoved(pod.metadata?.uid);
    if (gone) log.debug({ kind: "Pod", namespace: ns, name }, "pod terminated and removed");
  }
}
