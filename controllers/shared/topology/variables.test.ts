import { describe, expect, it } from "vitest";
import { machineVariables, resolveValues } from "./variables.ts";

describe("topology variables", () => {
  it("resolves class defaults, then the Cluster's variables, then a pool's overrides", () => {
    const v = resolveValues(
      [{ name: "vmClass", required: true, schema: { openAPIV3Schema: { default: "small" as never } } }],
      [{ name: "vmClass", value: "medium" }],
      [{ name: "vmClass", value: "large" }],
    );
    expect(v.get("vmClass")).toBe("large");
    expect(
      resolveValues([
        { name: "vmClass", required: true, schema: { openAPIV3Schema: { default: "small" as never } } },
      ]).get("vmClass"),
    ).toBe("small");
  });

  it("gives pool nodes their labels, in either class family's spelling; the control plane none", () => {
    const values = resolveValues(undefined, [
      { name: "vmClass", value: "x" },
      { name: "nodePoolLabels", value: [{ key: "a", value: "1" }, { value: "no key" }] },
      { name: "node", value: { labels: { b: "2" } } },
    ]);
    expect(machineVariables(values, "worker")).toEqual({
      vmClass: "x",
      storageClass: undefined,
      labels: { a: "1", b: "2" },
      taints: [],
    });
    expect(machineVariables(values, "controlPlane").labels).toEqual({});
  });

  it("gives pool nodes their taints, node.taints winning per key and effect; the control plane none", () => {
    const values = resolveValues(undefined, [
      {
        name: "nodePoolTaints",
        value: [
          { key: "gpu", value: "true", effect: "NoSchedule" },
          { key: "spot", effect: "PreferNoSchedule", timeAdded: 5 },
          { key: "bad", effect: "Sometimes" },
        ],
      },
      { name: "node", value: { taints: [{ key: "gpu", value: "a100", effect: "NoSchedule" }] } },
    ]);
    expect(machineVariables(values, "worker").taints).toEqual([
      { key: "gpu", value: "a100", effect: "NoSchedule" },
      { key: "spot", effect: "PreferNoSchedule" },
    ]);
    expect(machineVariables(values, "controlPlane").taints).toEqual([]);
  });
});
