// The add-on objects of a guest: names, the kube-dns address, the CNI the TKC names, the default
// StorageClass, and the API paths they are applied at.
import { describe, expect, it } from "vitest";
import { type AddonSettings, addonObjects, cniOf, objectPath } from "./addons.ts";

const settings: AddonSettings = {
  cni: "antrea",
  defaultStorageClass: "vsan-default",
  serviceCidr: "10.96.0.0/12",
  podCidr: "192.168.0.0/16",
  serviceDomain: "cluster.local",
  apiServer: "https://127.0.100.1:6443",
  kubernetesVersion: "v1.37.2",
};
const names = (s: AddonSettings) => addonObjects(s).map((o) => `${o.kind}/${o.metadata.name}`);

describe("guest add-ons", () => {
  it("CoreDNS, kube-proxy, antrea and the default StorageClass, in kube-system", () => {
    expect(names(settings)).toEqual([
      "ServiceAccount/coredns",
      "ClusterRole/system:coredns",
      "ClusterRoleBinding/system:coredns",
      "ConfigMap/coredns",
      "Deployment/coredns",
      "Service/kube-dns",
      "ServiceAccount/kube-proxy",
      "ClusterRoleBinding/kubeadm:node-proxier",
      "ConfigMap/kube-proxy",
      "DaemonSet/kube-proxy",
      "ServiceAccount/antrea-agent",
      "DaemonSet/antrea-agent",
      "StorageClass/vsan-default",
    ]);
    const objs = addonObjects(settings);
    for (const o of objs)
      if (!["ClusterRole", "ClusterRoleBinding", "StorageClass"].includes(o.kind))
        expect(o.metadata.namespace, o.kind).toBe("kube-system");
    const dns = objs.find((o) => o.kind === "Service");
    expect((dns?.spec as { clusterIP?: string } | undefined)?.clusterIP).toBe("10.96.0.10");
    const sc = objs.find((o) => o.kind === "StorageClass");
    expect(sc?.metadata.annotations).toEqual({ "storageclass.kubernetes.io/is-default-class": "true" });
    expect(sc?.provisioner).toBe("csi.vsphere.vmware.com");
    const proxy = JSON.stringify(
      objs.find((o) => o.kind === "DaemonSet" && o.metadata.name === "kube-proxy"),
    );
    expect(proxy).toContain("registry.k8s.io/kube-proxy:v1.37.2");
    const cm = JSON.stringify(objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "kube-proxy"));
    expect(cm).toContain("clusterCIDR: 192.168.0.0/16");
    expect(cm).toContain("server: https://127.0.100.1:6443");
  });

  it("calico when the TKC names it; antrea otherwise; no StorageClass without a default class", () => {
    expect(cniOf("calico")).toBe("calico");
    expect(cniOf(undefined)).toBe("antrea");
    const calico = names({ ...settings, cni: "calico", defaultStorageClass: undefined });
    expect(calico).toContain("DaemonSet/calico-node");
    expect(calico).not.toContain("DaemonSet/antrea-agent");
    expect(calico.some((n) => n.startsWith("StorageClass/"))).toBe(false);
  });

  it("paths on the guest API server", () => {
    const byName = Object.fromEntries(addonObjects(settings).map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    const path = (k: string) => {
      const o = byName[k];
      if (!o) throw new Error(k);
      return objectPath(o);
    };
    expect(path("Deployment/coredns")).toBe("/apis/apps/v1/namespaces/kube-system/deployments/coredns");
    expect(path("Service/kube-dns")).toBe("/api/v1/namespaces/kube-system/services/kube-dns");
    expect(path("ClusterRole/system:coredns")).toBe(
      "/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Acoredns",
    );
    expect(path("StorageClass/vsan-default")).toBe("/apis/storage.k8s.io/v1/storageclasses/vsan-default");
  });
});
