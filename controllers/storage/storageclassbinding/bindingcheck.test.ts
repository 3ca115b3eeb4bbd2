import type { V1Namespace } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { StorageClassBinding } from "../../api/vsphere/storageclassbinding.ts";
import type { SupervisorNamespace } from "../../api/vsphere/supervisornamespace.ts";
import { classRefusal, NEW_BINDING_GRACE_MS, namespaceRefusal, quietWait } from "./bindingcheck.ts";

const svns = { metadata: { name: "dev", uid: "u1" }, spec: {} } as SupervisorNamespace;
const ns = (uid?: string): V1Namespace => ({
  metadata: {
    name: "dev",
    ownerReferences: uid
      ? [
          {
            apiVersion: "vsphere.pacific.dev/v1alpha1",
            kind: "SupervisorNamespace",
            name: "dev",
            uid,
            controller: true,
          },
        ]
      : [],
  },
});

describe("what a StorageClassBinding may act on", () => {
  it("a namespace Pacific made for the SupervisorNamespace, or none yet", () => {
    expect(namespaceRefusal(svns, ns("u1"))).toBeUndefined();
    expect(namespaceRefusal(svns, undefined)).toBeUndefined();
  });
  it("not a namespace someone else made, nor one of an earlier SupervisorNamespace", () => {
    expect(namespaceRefusal(svns, ns())?.reason).toBe("NamespaceNotOwned");
    expect(namespaceRefusal(svns, ns("u0"))?.reason).toBe("NamespaceNotOwned");
  });
  it("only classes of the vSphere CSI driver, naming any other provisioner", () => {
    expect(
      classRefusal({ metadata: { name: "gold" }, provisioner: "csi.vsphere.vmware.com" }),
    ).toBeUndefined();
    const r = classRefusal({ metadata: { name: "local" }, provisioner: "rancher.io/local-path" });
    expect(r?.reason).toBe("NotVSphereStorageClass");
    expect(r?.message).toContain("rancher.io/local-path");
  });
});

describe("quietWait", () => {
  const now = Date.parse("2026-12-03T12:00:00Z");
  const created = (msAgo: number, status?: StorageClassBinding["status"]): StorageClassBinding => ({
    metadata: { name: "dev-gold", creationTimestamp: new Date(now - msAgo) },
    spec: { namespace: "dev", storageClass: "gold", limit: "1Gi" },
    status,
  });
  const configured = { ...svns, status: { configStatus: "Running" as const } };

  it("a new binding waits without a status while its Supervisor Namespace is being configured", () => {
    expect(quietWait(created(60_000), svns, now)).toBe(2_000);
    // configured and still no Namespace: said once the binding's first seconds are over
    expect(quietWait(created(1_000), configured, now)).toBe(2_000);
    expect(quietWait(created(NEW_BINDING_GRACE_MS), configured, now)).toBeUndefined();
    const removing = { ...svns, metadata: { ...svns.metadata, deletionTimestamp: new Date(now) } };
    expect(quietWait(created(NEW_BINDING_GRACE_MS), removing, now)).toBeUndefined();
  });

  it("a Supervisor Namespace or Namespace not in the cache is waited for only in the binding's first seconds", () => {
    expect(quietWait(created(1_000), undefined, now)).toBe(2_000);
    expect(quietWait(created(NEW_BINDING_GRACE_MS - 1_000), undefined, now)).toBe(1_000);
    expect(quietWait(created(NEW_BINDING_GRACE_MS - 50), undefined, now)).toBe(100);
    expect(quietWait(created(NEW_BINDING_GRACE_MS), undefined, now)).toBeUndefined();
  });

  it("a binding already reported says what changed at once", () => {
    expect(quietWait(created(0, { conditions: [] }), svns, now)).toBeUndefined();
    expect(quietWait(created(0, { conditions: [] }), undefined, now)).toBeUndefined();
  });
});
