import type { V1Namespace } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { SupervisorNamespace } from "../../api/vsphere/supervisornamespace.ts";
import { classRefusal, namespaceRefusal } from "./bindingcheck.ts";

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
