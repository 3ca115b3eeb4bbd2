// The kubelet-style pod loop's I/O, shared by every node agent (the Spherelet on ESXi hosts, the
// guest node agent on a TKC's Machines): one pass over the pods bound to one node — admit or
// reject, Pending → Running after the start delay, Ready again after an outage, graceful deletion
// ending in terminated containers and the object removed. The decisions are planHost's (sync.ts).
import type { V1Pod } from "@kubernetes/client-node";
import PQueue from "p-queue";
import type { Client } from "../../runtime/client.ts";
import type { Informer } from "../../runtime/informer.ts";
import type { Logger } from "../../runtime/log.ts";
import { Pods } from "../../runtime/resource.ts";
import type { NodeAdmission } from "./admission.ts";
import { isAdmitted, isTerminalPod, terminatedStatus } from "./pod.ts";
import { ignoreGoneOrReplaced, PodStatusWriter } from "./podstatus.ts";
import { type HostNode, type PodAction, planHost } from "./sync.ts";

/** A node where some pod's write failed looks again this soon (not the error backoff). */
const FAILED_WRITE_RETRY_MS = 5_000;

export class PodRunner {
  private readonly statuses: PodStatusWriter;
  private readonly writes = new PQueue({ concurrency: 64 });

  constructor(
    private readonly client: Client,
    pods: Informer<V1Pod>,
    private readonly startDelay: (pod: V1Pod) => number,
  ) {
    this.statuses = new PodStatusWriter(client, pods);
  }

  /**
   * One pass over `pods` (as cached) bound to `node`; returns when to look again (ms from now), if
   * ever. Throws only when every write failed (the API server is away).
   */
  async sync(
    node: HostNode,
    pods: V1Pod[],
    admission: NodeAdmission,
    log: Logger,
  ): Promise<number | undefined> {
    const now = new Date();
    const mine = pods.filter((p) => !this.statuses.removed(p)).map((p) => this.statuses.effective(p));
    const pass = planHost(node, mine, now, this.startDelay, admission);
    // One pod's failed write (its status too large, say) must not stall its neighbours: the node is
    // backed off only when every write failed; otherwise it looks again soon.
    const results = await Promise.allSettled(
      pass.actions.map((a) => this.writes.add(() => this.carryOut(a, now, log))),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length && failed.length === results.length) throw failed[0]?.reason;
    for (const f of failed) log.error({ err: String(f.reason) }, "writing a pod's status failed");
    const wakeAt = failed.length
      ? Math.min(pass.wakeAt ?? Number.POSITIVE_INFINITY, Date.now() + FAILED_WRITE_RETRY_MS)
      : pass.wakeAt;
    return wakeAt === undefined ? undefined : Math.max(10, wakeAt - Date.now());
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
