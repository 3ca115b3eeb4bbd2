// The VSpherePod reconciler: places each VSpherePod on an ESXi host with the DRS engine, creates
// its Pod bound there, mirrors phase, host, IP and readiness, and — vSphere HA — places it again
// when its host stops responding. No room anywhere: Placed=False with the reason, retried when a
// host changes. No finalizer: the garbage collector removes the Pod after its VSpherePod.
import type { V1Pod } from "@kubernetes/client-node";
import { TEMPLATE_HASH_ANNOTATION } from "../api/contracts.ts";
import { type VSpherePod, VSpherePodResource, type VSpherePodStatus } from "../api/vsphere/vspherepod.ts";
import type { Client } from "../runtime/client.ts";
import type { Reconciler, Request, Result } from "../runtime/controller.ts";
import { apiStatus, ignoreNotFound, isAlreadyExists } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Logger } from "../runtime/log.ts";
import { isControlledBy } from "../runtime/owner.ts";
import { deepEqual } from "../runtime/patch.ts";
import { patchStatus } from "../runtime/patchhelper.ts";
import { Pods } from "../runtime/resource.ts";
import type { Store } from "../runtime/store.ts";
import { place } from "../shared/placement/drs.ts";
import { type Inventory, nodeReady, podAssumeKey } from "../shared/placement/inventory.ts";
import { podRequests } from "../shared/quantity.ts";
import { desiredPod, mirroredStatus, rejectedByHost, templateHash, unplacedStatus } from "./pod.ts";

const UNPLACED_RETRY_MS = 30_000;

/** What a phase learnt: the status to write (if any) and how to go on. */
interface Outcome {
  status?: VSpherePodStatus;
  result?: Result;
}

export class VSpherePodReconciler implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly inv: Inventory,
    private readonly vpods: Store<VSpherePod>,
    private readonly events: Pick<EventRecorder, "event">,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const vpod = this.vpods.get(req.namespace, req.name);
    if (!vpod || vpod.metadata.deletionTimestamp) return undefined; // the garbage collector removes the pod
    const out = await this.reconcileNormal(vpod, new Date(), log);
    // The one status write; nothing is sent (and nothing copied) when the status did not change.
    if (out.status && !deepEqual(out.status, vpod.status))
      await patchStatus(this.client, VSpherePodResource, vpod, out.status);
    return out.result;
  }

  private async reconcileNormal(vpod: VSpherePod, now: Date, log: Logger): Promise<Outcome> {
    const name = vpod.metadata.name ?? "";
    const pod = this.inv.pods.store.get(vpod.metadata.namespace, name);
    if (!pod) return this.placePod(vpod, now, log);
    if (!isControlledBy(pod.metadata, vpod.metadata.uid)) {
      const msg = `a Pod named ${name} exists and does not belong to this VSpherePod`;
      return {
        status: unplacedStatus(vpod, "PodConflict", msg, now),
        result: { requeueAfter: UNPLACED_RETRY_MS },
      };
    }
    return this.reconcilePod(vpod, pod, now, log);
  }

  /** The pod exists: mirror it, or replace it (host failed, template changed, refused by the host). */
  private async reconcilePod(vpod: VSpherePod, pod: V1Pod, now: Date, log: Logger): Promise<Outcome> {
    const node = this.inv.nodes.store.get(pod.spec?.nodeName ?? "");
    const hostDown = !!node && !nodeReady(node) && !!this.inv.hosts.store.get(node.metadata?.name ?? "");
    if (hostDown || (pod.metadata?.deletionTimestamp && !node)) return this.restartElsewhere(vpod, pod, log);
    if (pod.metadata?.deletionTimestamp) return {}; // the pod's deletion will wake us
    if (pod.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION] !== templateHash(vpod)) {
      await this.deletePod(pod);
      this.events.event(
        vpod,
        "Normal",
        "TemplateChanged",
        "Replace",
        "the pod template changed; replacing the pod",
      );
      return {};
    }
    if (rejectedByHost(pod)) {
      // Rejected by the host (raced with another placement): place it again, with backoff.
      await this.deletePod(pod, 0);
      return { status: mirroredStatus(vpod, pod, now), result: { requeue: true } };
    }
    return { status: mirroredStatus(vpod, pod, now) };
  }

  /** vSphere HA: the host is gone or not responding, and it will never finish this pod. */
  private async restartElsewhere(vpod: VSpherePod, pod: V1Pod, log: Logger): Promise<Outcome> {
    await this.deletePod(pod, 0);
    const host = pod.spec?.nodeName;
    this.events.event(
      vpod,
      "Warning",
      "HostFailure",
      "Restart",
      `host ${host} is not responding; restarting the pod on another host`,
    );
    log.info({ host }, "host not responding: pod deleted to be placed again");
    return { result: { requeueAfter: 200 } };
  }

  /** No pod: place one with DRS and create it bound to that host. */
  private async placePod(vpod: VSpherePod, now: Date, log: Logger): Promise<Outcome> {
    const resources = podRequests(vpod.spec.template.spec as V1Pod["spec"]);
    const key = podAssumeKey(vpod.metadata.namespace, vpod.metadata.name ?? "");
    // Decide and assume in one synchronous step: no other placement can interleave.
    const placement = place(this.inv.view(), { resources, zone: vpod.spec.zone, host: vpod.spec.hostName });
    if (!placement.ok) return this.unplaced(vpod, placement.reason, placement.message, "Place", now);
    this.inv.assume(key, placement.host, resources);
    try {
      const created = await this.client.create(Pods, desiredPod(vpod, placement.host));
      log.info({ host: placement.host }, "placed");
      this.events.event(vpod, "Normal", "Placed", "Place", `placed on ESXi host ${placement.host}`);
      const status = mirroredStatus(vpod, created, now);
      return { status: { ...status, placements: (vpod.status?.placements ?? 0) + 1 } };
    } catch (e) {
      this.inv.forget(key);
      if (isAlreadyExists(e)) return { result: { requeueAfter: 500 } }; // the cache is behind: look again
      const s = apiStatus(e);
      if (s.code !== 403 && s.code !== 422) throw e;
      // Pod Security, the namespace's quota or a bad template: the user must change something.
      return this.unplaced(
        vpod,
        "PodRejected",
        `the API server refused the pod: ${s.message}`,
        "Create",
        now,
      );
    }
  }

  /** Placed=False with `reason`; the event only when the reason is new. */
  private unplaced(vpod: VSpherePod, reason: string, message: string, action: string, now: Date): Outcome {
    if (vpod.status?.conditions?.find((c) => c.type === "Placed")?.reason !== reason)
      this.events.event(vpod, "Warning", reason, action, message);
    return {
      status: unplacedStatus(vpod, reason, message, now),
      result: { requeueAfter: UNPLACED_RETRY_MS },
    };
  }

  /** Deletes this very pod (uid precondition); already gone is no failure. */
  private async deletePod(pod: V1Pod, gracePeriodSeconds?: number): Promise<void> {
    const m = pod.metadata ?? {};
    await this.client
      .delete(Pods, m.name ?? "", m.namespace, { uid: m.uid, gracePeriodSeconds })
      .catch(ignoreNotFound);
  }
}
