// The VSpherePod controller: places each VSpherePod on an ESXi host with the DRS engine, creates
// its Pod bound there, mirrors phase, host, IP and readiness, and — vSphere HA — places it again
// when its host stops responding. No room anywhere: Placed=False with the reason, retried when a
// host changes.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { ESXiHostResource } from "../api/vsphere/esxihost.ts";
import type { VSpherePod } from "../api/vsphere/vspherepod.ts";
import { VSpherePodResource } from "../api/vsphere/vspherepod.ts";
import { place } from "../placement/drs.ts";
import { ESXI_NODES, type Inventory, NODE_INDEX, nodeReady } from "../placement/inventory.ts";
import { podRequests } from "../quantity.ts";
import type { KubeClient, KubeObject } from "../runtime/client.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { apiStatus, isAlreadyExists, isNotFound } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { isControlledBy } from "../runtime/owner.ts";
import { deepEqual } from "../runtime/patch.ts";
import { Nodes, Pods } from "../runtime/resource.ts";
import { HOST_REJECTION_REASONS } from "../spherelet/hostadmission.ts";
import { desiredPod, mirroredStatus, TEMPLATE_HASH_ANNOTATION, templateHash, unplacedStatus } from "./pod.ts";

const UNPLACED_RETRY_MS = 30_000;

export class VSpherePodReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly inv: Inventory,
    private readonly vpods: Informer<VSpherePod>,
    private readonly events: EventRecorder,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const vpod = this.vpods.store.get(`${req.namespace}/${req.name}`);
    if (!vpod || vpod.metadata.deletionTimestamp) return undefined; // the garbage collector removes the pod
    const now = new Date();
    const pod = this.inv.pods.store.get(`${req.namespace}/${req.name}`);

    if (pod && !isControlledBy(pod.metadata, vpod.metadata.uid)) {
      const msg = `a Pod named ${req.name} exists and does not belong to this VSpherePod`;
      await this.writeStatus(vpod, unplacedStatus(vpod, "PodConflict", msg, now));
      return { requeueAfter: UNPLACED_RETRY_MS };
    }

    if (pod) {
      const node = this.inv.nodes.store.get(pod.spec?.nodeName ?? "");
      const hostDown = !!node && !nodeReady(node) && !!this.inv.hosts.store.get(node.metadata!.name!);
      if (hostDown || (pod.metadata?.deletionTimestamp && !node)) {
        // vSphere HA: the host is gone or not responding, and it will never finish this pod.
        await this.forceDelete(pod);
        this.events.event(
          vpod,
          "Warning",
          "HostFailure",
          "Restart",
          `host ${pod.spec?.nodeName} is not responding; restarting the pod on another host`,
        );
        log.info({ host: pod.spec?.nodeName }, "host not responding: pod deleted to be placed again");
        return { requeueAfter: 200 };
      }
      if (pod.metadata?.deletionTimestamp) return undefined; // the pod's deletion will wake us
      if (pod.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION] !== templateHash(vpod)) {
        await this.client.delete(Pods, req.name, req.namespace, { uid: pod.metadata!.uid });
        this.events.event(
          vpod,
          "Normal",
          "TemplateChanged",
          "Replace",
          "the pod template changed; replacing the pod",
        );
        return undefined;
      }
      if (
        pod.status?.phase === "Failed" &&
        [...HOST_REJECTION_REASONS, "OutOfcpu", "OutOfmemory", "OutOfpods"].includes(pod.status.reason ?? "")
      ) {
        // Rejected by the host (raced with another placement): place it again, with backoff.
        await this.writeStatus(vpod, mirroredStatus(vpod, pod, now));
        await this.client.delete(Pods, req.name, req.namespace, {
          uid: pod.metadata!.uid,
          gracePeriodSeconds: 0,
        });
        return { requeue: true };
      }
      await this.writeStatus(vpod, mirroredStatus(vpod, pod, now));
      return undefined;
    }

    // No pod: place one.
    const resources = podRequests(vpod.spec.template.spec as V1Pod["spec"]);
    const key = `pod/${req.namespace}/${req.name}`;
    // Decide and assume in one synchronous step: no other placement can interleave.
    const placement = place(this.inv.view(), { resources, zone: vpod.spec.zone, host: vpod.spec.hostName });
    if (!placement.ok) {
      if (vpod.status?.conditions?.find((c) => c.type === "Placed")?.reason !== placement.reason) {
        this.events.event(vpod, "Warning", placement.reason, "Place", placement.message);
      }
      await this.writeStatus(vpod, unplacedStatus(vpod, placement.reason, placement.message, now));
      return { requeueAfter: UNPLACED_RETRY_MS };
    }
    this.inv.assume(key, placement.host, resources);
    try {
      const created = await this.client.create<V1Pod>(Pods, desiredPod(vpod, placement.host));
      log.info({ host: placement.host }, "placed");
      this.events.event(vpod, "Normal", "Placed", "Place", `placed on ESXi host ${placement.host}`);
      const status = mirroredStatus(vpod, created, now);
      await this.writeStatus(vpod, { ...status, placements: (vpod.status?.placements ?? 0) + 1 });
    } catch (e) {
      this.inv.forget(key);
      if (isAlreadyExists(e)) return { requeueAfter: 500 }; // the cache is behind: look again
      const s = apiStatus(e);
      if (s.code === 403 || s.code === 422) {
        // Pod Security, the namespace's quota or a bad template: the user must change something.
        const msg = `the API server refused the pod: ${s.message}`;
        if (vpod.status?.conditions?.find((c) => c.type === "Placed")?.reason !== "PodRejected") {
          this.events.event(vpod, "Warning", "PodRejected", "Create", msg);
        }
        await this.writeStatus(vpod, unplacedStatus(vpod, "PodRejected", msg, now));
        return { requeueAfter: UNPLACED_RETRY_MS };
      }
      throw e;
    }
    return undefined;
  }

  private async forceDelete(pod: V1Pod): Promise<void> {
    try {
      await this.client.delete(Pods, pod.metadata!.name!, pod.metadata!.namespace, {
        gracePeriodSeconds: 0,
        uid: pod.metadata!.uid,
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async writeStatus(vpod: VSpherePod, status: VSpherePod["status"]): Promise<void> {
    if (deepEqual(status, vpod.status)) return;
    await this.client.patch(
      VSpherePodResource,
      vpod.metadata.name!,
      vpod.metadata.namespace,
      { status },
      { subresource: "status" },
    );
  }
}

const readyChanged = (o: KubeObject, n: KubeObject): boolean =>
  nodeReady(o as V1Node) !== nodeReady(n as V1Node);

export function setupVSpherePodController(mgr: Manager, inv: Inventory): void {
  const vpods = mgr.informer<VSpherePod>(VSpherePodResource);
  const ownerOf = (p: V1Pod) => {
    const ref = p.metadata?.ownerReferences?.find((r) => r.controller && r.kind === "VSpherePod");
    return ref ? [{ namespace: p.metadata!.namespace, name: ref.name }] : [];
  };
  const unplaced = () =>
    vpods.store
      .list()
      .filter((v) => v.status?.conditions?.some((c) => c.type === "Placed" && c.status === "False"))
      .map((v) => ({ namespace: v.metadata.namespace, name: v.metadata.name! }));
  mgr
    .controller("vspherepod")
    .for(VSpherePodResource)
    .owns(Pods, { predicate: anyChange })
    // A host that stops (or starts again) responding: every VSpherePod on it.
    .watches(Nodes, (n) => inv.pods.store.byIndex(NODE_INDEX, n.metadata!.name!).flatMap(ownerOf), {
      informer: ESXI_NODES,
      predicate: readyChanged,
    })
    // Any change of a host may make room: the VSpherePods still waiting for one.
    .watches(ESXiHostResource, unplaced, { predicate: anyChange })
    .withOptions({ maxConcurrentReconciles: 8 })
    .complete(new VSpherePodReconciler(mgr.client, inv, vpods, mgr.events));
}
