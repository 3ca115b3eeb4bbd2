// The informer's cache: objects by key, with indexes (client-go's cache.Indexer).
import type { KubeObject } from "./client.ts";
import { must } from "./must.js";
import { keyFor, keyOf } from "./resource.ts";

export type IndexFunc<T> = (obj: T) => string[];

export class Store<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  get size(): number {
    return this.items.size;
  }

  /** `get(namespace, name)`, or `get(name)` of a cluster-scoped object (or by cache key). */
  get(namespaceOrKey: string | undefined, name?: string): T | undefined {
    if (name === undefined) return namespaceOrKey === undefined ? undefined : this.items.get(namespaceOrKey);
    return this.items.get(keyFor(namespaceOrKey, name));
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  /** Stores `obj`; returns the object it replaced. */
  set(obj: T): T | undefined {
    const key = keyOf(obj.metadata);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexers.has(name)) return;
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
    for (const [key, obj] of this.items) this.indexOne(name, fn, key, obj);
  }

  hasIndex(name: string): boolean {
    return this.indexers.has(name);
  }

  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`no index ${name}`);
    return [...(index.get(value) ?? [])].flatMap((k) => this.items.get(k) ?? []);
  }

  private index(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) this.indexOne(name, fn, key, obj);
  }

  private indexOne(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
    const index = must(this.indices.get(name), `index ${name}`);
    for (const v of fn(obj)) {
      const set = index.get(v);
      if (set) set.add(key);
      else index.set(v, new Set([key]));
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = must(this.indices.get(name), `index ${name}`);
      for (const v of fn(obj)) {
        const set = index.get(v);
        set?.delete(key);
        if (set?.size === 0) index.delete(v);
      }
    }
  }
}

// Indexes every controller uses.
export const byNamespace = <T extends KubeObject>(o: T): string[] =>
  o.metadata?.namespace ? [o.metadata.namespace] : [];
/** The uid of the controller owner. */
export const byControllerUid = <T extends KubeObject>(o: T): string[] => {
  const ref = o.metadata?.ownerReferences?.find((r) => r.controller);
  return ref ? [ref.uid] : [];
};
/** Pods by spec.nodeName. */
export const byNodeName = <T extends KubeObject>(o: T): string[] => {
  const n = (o as { spec?: { nodeName?: string } }).spec?.nodeName;
  return n ? [n] : [];
};
export const byLabel =
  (label: string) =>
  <T extends KubeObject>(o: T): string[] => {
    const v = o.metadata?.labels?.[label];
    return v === undefined ? [] : [v];
  };
