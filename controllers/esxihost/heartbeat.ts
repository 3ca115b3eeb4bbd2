// The Spherelet's heartbeat: every host with heartbeats on renews its node Lease each interval
// (10 s; duration 40 s), each at its own phase (shared/kubelet/heartbeat.ts). Leader-only.
import type { V1Node } from "@kubernetes/client-node";
import type { Client } from "../runtime/client.ts";
import type { Logger } from "../runtime/log.ts";
import type { SimulationSettings } from "../settings.ts";
import { LeaseHeartbeat } from "../shared/kubelet/heartbeat.ts";
import { heartbeatsOn, type Inventory } from "../shared/placement/inventory.ts";

export class Heartbeat extends LeaseHeartbeat {
  constructor(client: Client, inv: Inventory, settings: SimulationSettings, log: Logger) {
    super(client, () => liveHostNodes(inv), settings, log);
  }
}

function* liveHostNodes(inv: Inventory): Iterable<V1Node> {
  for (const host of inv.hosts.store.list()) {
    if (!heartbeatsOn(host) || host.metadata.deletionTimestamp) continue;
    const node = inv.nodes.store.get(host.metadata.name ?? "");
    if (node) yield node;
  }
}
