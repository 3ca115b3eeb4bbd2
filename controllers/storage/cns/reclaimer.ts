// The CNS reclaimer: deletes the CNS volumes that are Released with reclaim policy Delete (what the
// external provisioner does for a real CSI driver).
import type { V1PersistentVolume } from "@kubernetes/client-node";
import type { Client } from "../../runtime/client.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import { ignoreNotFound } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import { PersistentVolumes } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import { isReclaimable } from "./volume.ts";

export class CnsReclaimer implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly volumes: Store<V1PersistentVolume>,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const pv = this.volumes.get(req.name);
    if (!pv || !isReclaimable(pv)) return undefined;
    // The uid precondition: never a volume of the same name made since the cache saw this one.
    const deleted = await this.client
      .delete(PersistentVolumes, req.name, undefined, { uid: pv.metadata?.uid })
      .catch(ignoreNotFound);
    if (deleted !== undefined)
      log.info({ kind: "PersistentVolume", name: req.name }, "deleted released volume");
    return undefined;
  }
}
