import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podsToRemove } from "./reconciler.ts";

const node = (ready: string): V1Node => ({
  metadata: { name: "esx-1" },
  status: { conditions: [{ type: "Ready", status: ready }] },
});
const pod = (name: string, deleting: boolean): V1Pod => ({
  metadata: { name, namespace: "ns", ...(deleting ? { deletionTimestamp: new Date() } : {}) },
  spec: { nodeName: "esx-1", containers: [] },
});

describe("vSphere HA for a failed host's pods", () => {
  const pods = [pod("evicted", true), pod("still-there", false)];

  it("removes the pods being deleted on a host whose Node is not Ready", () => {
    expect(podsToRemove(node("Unknown"), pods).map((p) => p.metadata?.name)).toEqual(["evicted"]);
    expect(podsToRemove(node("False"), pods).map((p) => p.metadata?.name)).toEqual(["evicted"]);
  });

  it("leaves a Ready host's deletions to its Spherelet, and does nothing without a Node", () => {
    expect(podsToRemove(node("True"), pods)).toEqual([]);
    expect(podsToRemove(undefined, pods)).toEqual([]);
  });
});
