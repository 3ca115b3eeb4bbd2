import type { V1Node } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { ESXiHost } from "../api/vsphere/esxihost.ts";
import { hostAdmission } from "./hostadmission.ts";

const host = (spec: Partial<ESXiHost["spec"]> = {}, status: ESXiHost["status"] = {}): ESXiHost => ({
  metadata: { name: "esx-01" },
  spec: { capacity: { cpu: 8, memory: "32Gi" }, ...spec } as ESXiHost["spec"],
  status,
});
const node = (unschedulable = false, ready = "True"): V1Node => ({
  spec: { unschedulable },
  status: { conditions: [{ type: "Ready", status: ready }] },
});

describe("host admission", () => {
  it("admits on a connected, schedulable host out of maintenance", () => {
    expect(hostAdmission(host(), node())).toEqual({ admits: true });
  });
  it("rejects on a host in (or entering) maintenance mode", () => {
    expect(hostAdmission(host({ maintenanceMode: true }), node(true))).toMatchObject({
      admits: false,
      action: "reject",
      reason: "HostInMaintenanceMode",
    });
    expect(hostAdmission(host({}, { inMaintenanceMode: true }), node())).toMatchObject({
      reason: "HostInMaintenanceMode",
    });
  });
  it("rejects on a cordoned node", () => {
    expect(hostAdmission(host(), node(true))).toMatchObject({
      action: "reject",
      reason: "NodeUnschedulable",
    });
  });
  it("holds pods on a host that is not responding", () => {
    expect(hostAdmission(host(), node(false, "Unknown"))).toMatchObject({
      action: "hold",
      reason: "HostNotResponding",
    });
  });
});
