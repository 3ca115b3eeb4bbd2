// The Spherelet's pod loop: one key per ESXi host (like a kubelet's sync loop), so admission on a
// host is decided one pod at a time. For every pod bound to the host the shared pod runner
// (shared/kubelet/runner.ts) admits or rejects (OutOfcpu/OutOfmemory/OutOfpods), starts, marks
// Ready again after an outage and finishes graceful deletions. A failed host (heartbeats off) does
// nothing at all, as a dead kubelet would.
import type { Client } from "../runtime/client.ts";
import type { Reconciler, Request, Result } from "../runtime/controller.ts";
import type { Logger } from "../runtime/log.ts";
import type { SimulationSettings } from "../settings.ts";
import { PodRunner } from "../shared/kubelet/runner.ts";
import { startDelay } from "../shared/kubelet/startdelay.ts";
import { hostNode } from "../shared/kubelet/sync.ts";
import { heartbeatsOn, type Inventory, NODE_INDEX } from "../shared/placement/inventory.ts";
import { hostAdmission } from "./hostadmission.ts";

export class SpherletReconciler implements Reconciler {
  private readonly runner: PodRunner;

  constructor(
    client: Client,
    private readonly inv: Inventory,
    settings: SimulationSettings,
  ) {
    this.runner = new PodRunner(client, inv.pods, (p) => startDelay(p, settings));
  }

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const host = this.inv.hosts.store.get(req.name);
    const node = this.inv.nodes.store.get(req.name);
    if (!host || !node || !heartbeatsOn(host)) return undefined;
    const hn = hostNode(node);
    if (!hn) return undefined; // the ESXiHost controller has not posted the node yet
    const pods = this.inv.pods.store.byIndex(NODE_INDEX, req.name);
    const after = await this.runner.sync(hn, pods, hostAdmission(host, node), log);
    return after === undefined ? undefined : { requeueAfter: after };
  }
}
