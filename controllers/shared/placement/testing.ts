// An Inventory over standalone informers that are never started, for unit tests of reconcilers that
// read it: `sync` fills its caches with what a Client (the FakeClient) holds now, as synced informers
// would. Never for e2e, which run the real informers.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { ESXiHostResource } from "../../api/vsphere/esxihost.ts";
import type { Client, KubeClient, KubeObject } from "../../runtime/client.ts";
import { Informer, type InformerOptions } from "../../runtime/informer.ts";
import { silentLogger } from "../../runtime/log.ts";
import { Nodes, Pods, type ResourceType } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import { ESXI_NODES, Inventory } from "./inventory.ts";

/** Standalone informers by resource and selector, as the manager shares them. */
export class TestInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>();

  informer<T extends KubeObject>(resource: ResourceType<T>, o: InformerOptions = {}): Informer<T> {
    const key = `${resource.group}/${resource.plural}?${o.labelSelector ?? ""}`;
    let inf = this.informers.get(key);
    if (!inf) {
      // Never started, so its client is never called.
      inf = new Informer(
        resource,
        undefined as unknown as KubeClient,
        silentLogger,
        o,
      ) as unknown as Informer<KubeObject>;
      this.informers.set(key, inf);
    }
    return inf as unknown as Informer<T>;
  }
}

async function refill<T extends KubeObject>(
  store: Store<T>,
  client: Client,
  rt: ResourceType<T>,
  o: InformerOptions = {},
): Promise<void> {
  for (const k of [...store.keys()]) store.delete(k);
  for (const x of (await client.list(rt, { labelSelector: o.labelSelector })).items) store.set(x);
}

export interface TestInventory {
  inv: Inventory;
  informers: TestInformers;
  /** The caches become what `client` holds now (hosts, ESXi Nodes, pods). */
  sync(): Promise<void>;
}

export function testInventory(client: Client): TestInventory {
  const informers = new TestInformers();
  const inv = new Inventory(informers);
  return {
    inv,
    informers,
    sync: async () => {
      await refill(inv.hosts.store, client, ESXiHostResource);
      await refill<V1Node>(inv.nodes.store, client, Nodes, ESXI_NODES);
      await refill<V1Pod>(inv.pods.store, client, Pods);
    },
  };
}
