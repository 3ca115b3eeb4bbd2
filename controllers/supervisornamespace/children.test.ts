import { describe, expect, it } from "vitest";
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";
import { sameQuantities } from "../shared/quantity.ts";
import {
  desiredLimitRange,
  desiredNamespace,
  desiredNetworkPolicy,
  desiredQuota,
  desiredRoleBindings,
  principal,
} from "./children.ts";

const svns = (spec: Partial<SupervisorNamespace["spec"]>): SupervisorNamespace => ({
  metadata: { name: "dev", uid: "u" },
  spec: { networkIsolation: true, podSecurity: "restricted", encryption: false, ...spec },
});

describe("SupervisorNamespace children", () => {
  it("labels the namespace for Pod Security and lists the bound classes", () => {
    const ns = desiredNamespace(svns({ podSecurity: "baseline" }), ["silver", "gold"]);
    expect(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("baseline");
    expect(ns.metadata?.annotations?.["vsphere.pacific.dev/storage-classes"]).toBe("gold,silver");
  });
  it("turns limits and counts into a quota, and none into no quota", () => {
    expect(desiredQuota(svns({}))).toBeUndefined();
    expect(
      desiredQuota(svns({ limits: { cpu: 4, storage: "1Ti" }, objectCounts: { pods: 10, deployments: 2 } }))
        ?.spec?.hard,
    ).toEqual({
      "limits.cpu": "4",
      "requests.storage": "1Ti",
      "count/pods": "10",
      "count/deployments.apps": "2",
    });
  });
  it("gives containers default limits when the namespace limits CPU or memory", () => {
    const lr = desiredLimitRange(svns({ limits: { cpu: 4 } })) as unknown as {
      spec: { limits: Array<Record<string, unknown>> };
    };
    expect(lr.spec.limits[0]).toEqual({ type: "Container", default: { cpu: "500m" } });
    expect(desiredLimitRange(svns({}))).toBeUndefined();
  });
  it("binds SSO principals: Edit → edit, View → view, Owner → edit and owner", () => {
    const rbs = desiredRoleBindings(
      svns({
        access: [
          { subjectType: "User", subject: "alice", domain: "vsphere.local", role: "Owner" },
          { subjectType: "Group", subject: "devs", domain: "corp.local", role: "View" },
        ],
      }),
    );
    expect(rbs.map((r) => [r.roleRef.name, r.subjects?.[0]?.kind, r.subjects?.[0]?.name])).toEqual([
      ["edit", "User", "sso:alice@vsphere.local"],
      ["pacific-namespace-owner", "User", "sso:alice@vsphere.local"],
      ["view", "Group", "sso:devs@corp.local"],
    ]);
    expect(new Set(rbs.map((r) => r.metadata?.name)).size).toBe(3);
    expect(principal({ subject: "a", domain: "b" })).toBe("sso:a@b");
  });
  it("isolates the network unless told not to", () => {
    const np = desiredNetworkPolicy(svns({})) as unknown as { spec: { ingress: Array<{ from: unknown[] }> } };
    expect(np.spec.ingress[0]?.from).toHaveLength(2);
    expect(desiredNetworkPolicy(svns({ networkIsolation: false }))).toBeUndefined();
  });
  it("compares quantities as numbers", () => {
    expect(sameQuantities({ cpu: "1000m" }, { cpu: "1" })).toBe(true);
    expect(sameQuantities({ cpu: "2" }, { cpu: "1" })).toBe(false);
    expect(sameQuantities({ cpu: "1" }, { cpu: "1", memory: "1Gi" })).toBe(false);
  });
});
