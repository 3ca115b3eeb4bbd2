// An Inventory over standalone informers that are never started, for unit tests of reconcilers that
// read it: a test fills the caches with `put` (as a watch event would) and reads what it decided
// from a FakeClient. Never for e2e, which run the real informers.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { ESXiHost } from "../../api/vsphere/esxihost.ts";
import type { KubeClient, KubeObject } from "../../runtime/client.ts";
import { Informer, type InformerOptions } from "../../runtime/informer.ts";
import { silentLogger } from "../../runtime/log.ts";
import type { ResourceType } from "../../runtime/resource.ts";
import { keyOf } from "../../runtime/resource.ts";
import { Inventory } from "./inventory.ts";

/** Standalone informers by resource (one per kind and selector, as the manager shares them). */
export class TestInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>();

  informer<T extends KubeObject>(resource: ResourceType<T>, o: InformerOptions = {}): Informer<T> {
    const key = `${resource.group}/${resource.plural}?${o.labelSelector ?? ""}`;
    let inf = this.informers.get(key);
    if (!inf) {
      // Never started, so the client is never called.
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

export interface TestInventory {
  inv: Inventory;
  informers: TestInformers;
  /** Puts objects into the caches (a host, its Node, pods). */
  put(...objs: Array<ESXiHost | V1Node | V1Pod>): void;
  /** Removes an object from its cache. */
  drop(obj: ESXiHost | V1Node | V1Pod): void;
}

export function testInventory(): TestInventory {
  const informers = new TestInformers();
  const inv = new Inventory(informers);
  const storeOf = (o: KubeObject) =>
    o.kind === "ESXiHost" ? inv.hosts.store : o.kind === "Node" ? inv.nodes.store : inv.pods.store;
  return {
    inv,
    informers,
    put: (...objs) => {
      for (const o of objs) (storeOf(o) as { set(x: KubeObject): void }).set(o);
    },
    drop: (o) => {
      storeOf(o).delete(keyOf(o.metadata));
    },
  };
}
