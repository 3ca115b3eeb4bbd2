// Caches for unit tests of reconcilers: a Store holding what a Client (the FakeClient) has now, as a
// synced informer would. Rebuild them after a reconcile to see its writes, as the next one would.
import type { Client, KubeObject } from "../client.ts";
import type { ResourceType } from "../resource.ts";
import { type IndexFunc, Store } from "../store.ts";

export async function storeFrom<T extends KubeObject>(
  client: Client,
  rt: ResourceType<T>,
  indexes: Record<string, IndexFunc<T>> = {},
): Promise<Store<T>> {
  const store = new Store<T>();
  for (const [name, fn] of Object.entries(indexes)) store.addIndex(name, fn);
  for (const o of (await client.list(rt)).items) store.set(o);
  return store;
}
