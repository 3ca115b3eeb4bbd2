import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { Client } from "../../runtime/client.ts";
import type { Handler, Informer } from "../../runtime/informer.ts";
import { PodStatusWriter } from "./podstatus.ts";

describe("what the Spherelet remembers of the pods it removed", () => {
  it("skips a removed pod until the cache drops it, so its final delete is sent once", () => {
    const handlers: Handler<V1Pod>[] = [];
    const pods = { addHandler: (h: Handler<V1Pod>) => handlers.push(h) } as unknown as Informer<V1Pod>;
    const w = new PodStatusWriter({} as Client, pods);
    const pod: V1Pod = { metadata: { name: "p", namespace: "n", uid: "u1", deletionTimestamp: new Date() } };
    const replacement: V1Pod = { metadata: { name: "p", namespace: "n", uid: "u2" } };
    expect(w.removed(pod)).toBe(false);
    w.markRemoved("u1");
    expect(w.removed(pod)).toBe(true);
    expect(w.removed(replacement)).toBe(false); // a new pod of that name is another pod
    for (const h of handlers) h.delete?.(pod);
    expect(w.removed(pod)).toBe(false);
  });
});
