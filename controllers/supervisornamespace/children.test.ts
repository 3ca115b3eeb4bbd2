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
  spec: {
    networkIsolation: true,
    podSecurity: "restricted",
    encryption: false,
    ...spec,
  },
});

describe("SupervisorNamespace children", () => {
  it("labels the namespace for Pod Security and lists the bound classes", () => {
    const ns = desiredNamespace(svns({ podSecurity: "baseline" }), ["silver", "gold"]);
    expect(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("baseline");
    expect(ns.metadata?.annotations?.["vsphere.pacific.dev/storage-classes"]).toBe("gold,silver");
    expect(ns.metadata?.labels?.["vsphere.pacific.dev/network-isolation"]).toBe("true");
  });
  it("lists the access list's subjects on the namespace, for the RoleBinding admission policy", () => {
    const ns = desiredNamespace(
      svns({
        access: [
          { subjectType: "User", subject: "bob", domain: "vsphere.local", role: "View" },
          { subjectType: "Group", subject: "devs", domain: "corp.local", role: "Edit" },
          { subjectType: "User", subject: "alice", domain: "vsphere.local", role: "Owner" },
        ],
      }),
      [],
    );
    expect(ns.metadata?.annotations?.["vsphere.pacific.dev/access-subjects"]).toBe(
      "Group:sso:devs@corp.local,User:sso:alice@vsphere.local,User:sso:bob@vsphere.local",
    );
    expect(
      desiredNamespace(svns({}), []).metadata?.annotations?.["vsphere.pacific.dev/access-subjects"],
    ).toBe("");
  });
  it("turns limits and counts into a quota; by default only the load balancer limit", () => {
    // Unset: 16 LoadBalancer Services; VM services counted only when the admin says so.
    expect(desiredQuota(svns({}))?.spec?.hard).toEqual({ "services.loadbalancers": "16" });
    const lbs = {
      "services.loadbalancers": "16",
      "count/virtualmachineservices.vmoperator.vmware.com": "16",
    };
    expect(desiredQuota(svns({ objectCounts: { loadBalancers: 0 } }))?.spec?.hard).toEqual({
      "services.loadbalancers": "0",
      "count/virtualmachineservices.vmoperator.vmware.com": "0",
    });
    expect(
      desiredQuota(
        svns({
          limits: { cpu: 4, storage: "1Ti" },
          objectCounts: { pods: 10, deployments: 2, loadBalancers: 16 },
        }),
      )?.spec?.hard,
    ).toEqual({
      ...lbs,
      "limits.cpu": "4",
      "requests.storage": "1Ti",
      "count/pods": "10",
      "count/vspherepods.vsphere.pacific.dev": "10",
      "count/deployments.apps": "2",
    });
    expect(
      desiredQuota(
        svns({ objectCounts: { virtualMachines: 4, tanzuKubernetesClusters: 1, loadBalancers: 16 } }),
      )?.spec?.hard,
    ).toEqual({
      "count/virtualmachines.vmoperator.vmware.com": "4",
      "count/tanzukubernetesclusters.run.tanzu.vmware.com": "1",
      "services.loadbalancers": "16",
      "count/virtualmachineservices.vmoperator.vmware.com": "16",
    });
  });
  it("gives containers default limits when the namespace limits CPU or memory", () => {
    const lr = desiredLimitRange(svns({ limits: { cpu: 4 } })) as unknown as {
      spec: { limits: Array<Record<string, unknown>> };
    };
    expect(lr.spec.limits[0]).toEqual({ type: "Container", default: { cpu: "500m" } });
    expect(desiredLimitRange(svns({}))).toBeUndefined();
    // A default request above the derived default limit raises the limit to it (the API server
    // refuses a LimitRange whose default request exceeds its default).
    const high = desiredLimitRange(
      svns({ limits: { cpu: 4, memory: "8Gi" }, defaults: { requests: { cpu: "2", memory: "1Gi" } } }),
    ) as unknown as { spec: { limits: Array<Record<string, unknown>> } };
    expect(high.spec.limits[0]).toMatchObject({
      default: { cpu: "2", memory: "1Gi" },
      defaultRequest: { cpu: "2", memory: "1Gi" },
    });
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
