import { describe, expect, it } from "vitest";
import { TanzuKubernetesClusterResource } from "../../controllers/api/run/tanzukubernetescluster.ts";
import { VirtualMachineResource } from "../../controllers/api/vmoperator/virtualmachine.ts";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { VSpherePodResource } from "../../controllers/api/vsphere/vspherepod.ts";
import { KubeClient } from "../../controllers/runtime/client.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import type { ResourceType } from "../../controllers/runtime/resource.ts";
import { kubeConfig } from "./kube.ts";

const kc = kubeConfig();
const client = new KubeClient(kc);
const api = "vsphere.pacific.dev/v1alpha1";

interface Case {
  what: string;
  rt: ResourceType;
  name: string;
  spec: unknown;
  /** Text the API server's message must contain (the field, or our CEL message). */
  says: string;
}

const svns = (what: string, spec: unknown, says: string, name = "bad-svns"): Case => ({
  what,
  rt: SupervisorNamespaceResource,
  name,
  spec,
  says,
});
const scb = (what: string, spec: unknown, says: string): Case => ({
  what,
  rt: StorageClassBindingResource,
  name: "bad-scb",
  spec,
  says,
});
const esx = (what: string, spec: unknown, says: string, name = "bad-esx"): Case => ({
  what,
  rt: ESXiHostResource,
  name,
  spec,
  says,
});
const vpod = (what: string, spec: unknown, says: string): Case => ({
  what,
  rt: VSpherePodResource,
  name: "bad-vpod",
  spec,
  says,
});
const user = (o: object = {}) => ({ subjectType: "User", subject: "alice", role: "Edit", ...o });
const cap = { cpu: 8, memory: "32Gi" };
const tmpl = (spec: object) => ({ template: { spec } });
const cp = {
  replicas: 3,
  vmClass: "best-effort-small",
  storageClass: "vsan",
  tkr: { reference: { name: "v1.23.8---vmware.3-tkg.1" } },
};
const tkc = (what: string, spec: unknown, says: string): Case => ({
  what,
  rt: TanzuKubernetesClusterResource,
  name: "bad-tkc",
  spec,
  says,
});
const vm = (what: string, spec: unknown, says: string): Case => ({
  what,
  rt: VirtualMachineResource,
  name: "bad-vm",
  spec,
  says,
});

const cases: Case[] = [
  tkc(
    "even control plane",
    { topology: { controlPlane: { ...cp, replicas: 2 } } },
    "controlPlane.replicas must be odd",
  ),
  tkc(
    "two node pools of one name",
    {
      topology: {
        controlPlane: cp,
        nodePools: [
          { name: "p", replicas: 1, vmClass: "x", storageClass: "y" },
          { name: "p", replicas: 2, vmClass: "x", storageClass: "y" },
        ],
      },
    },
    "Duplicate value",
  ),
  tkc(
    "malformed pod CIDR",
    { topology: { controlPlane: cp }, settings: { network: { pods: { cidrBlocks: ["192.168.0.0/33"] } } } },
    "pods.cidrBlocks must be CIDRs",
  ),
  tkc(
    "pod and service CIDRs overlapping",
    {
      topology: { controlPlane: cp },
      settings: {
        network: { pods: { cidrBlocks: ["10.96.0.0/16"] }, services: { cidrBlocks: ["10.96.0.0/12"] } },
      },
    },
    "must not overlap",
  ),
  tkc(
    "control plane without a VM class",
    { topology: { controlPlane: { ...cp, vmClass: undefined } } },
    "vmClass: Required value",
  ),
  vm("unknown power state", { className: "x", powerState: "Sleeping" }, "spec.powerState: Unsupported value"),
  vm(
    "nextRestartTime that is not now or a time",
    { className: "x", nextRestartTime: "tomorrow" },
    "nextRestartTime may only be set",
  ),
  svns("negative CPU limit", { limits: { cpu: "-1" } }, "limits.cpu must be a positive quantity"),
  svns(
    "CPU limit that is not a quantity",
    { limits: { cpu: "lots" } },
    "limits.cpu must be a positive quantity",
  ),
  svns("zero memory limit", { limits: { memory: "0" } }, "limits.memory must be a positive quantity"),
  svns(
    "storage in a unit Kubernetes does not know",
    { limits: { storage: "1TB" } },
    "limits.storage must be a positive quantity",
  ),
  svns("unknown role", { access: [user({ role: "Admin" })] }, "spec.access[0].role"),
  svns("unknown subject type", { access: [user({ subjectType: "Robot" })] }, "spec.access[0].subjectType"),
  svns("duplicate subject", { access: [user(), user({ role: "View" })] }, "Duplicate value"),
  svns("subject with a space", { access: [user({ subject: "alice smith" })] }, "spec.access[0].subject"),
  svns(
    "access entry without a role",
    { access: [{ subjectType: "User", subject: "bob" }] },
    "spec.access[0].role: Required value",
  ),
  svns("malformed SSO domain", { access: [user({ domain: "Bad Domain" })] }, "spec.access[0].domain"),
  svns("unknown Pod Security level", { podSecurity: "strict" }, "spec.podSecurity"),
  svns("negative object count", { objectCounts: { pods: -1 } }, "spec.objectCounts.pods"),
  svns(
    "default request above default limit",
    { defaults: { requests: { cpu: "2" }, limits: { cpu: "1" } } },
    "defaults.requests.cpu must not exceed defaults.limits.cpu",
  ),
  svns("VM class with an underscore", { vmClasses: ["best_effort"] }, "spec.vmClasses[0]"),
  svns(
    "VM class listed twice",
    { vmClasses: ["best-effort-small", "best-effort-small"] },
    "spec.vmClasses[1]: Duplicate value",
  ),
  svns("a system namespace's name", {}, "cannot take the name of a system namespace", "kube-system"),
  svns("a name that is not a DNS label", {}, "must be a DNS label", "dev.team"),
  scb(
    "negative limit",
    { namespace: "dev", storageClass: "gold", limit: "-5Gi" },
    "limit must be a positive quantity",
  ),
  scb("no namespace", { storageClass: "gold", limit: "5Gi" }, "spec.namespace: Required value"),
  scb("no limit", { namespace: "dev", storageClass: "gold" }, "spec.limit: Required value"),
  scb(
    "class name with capitals",
    { namespace: "dev", storageClass: "Gold_Class", limit: "5Gi" },
    "spec.storageClass",
  ),
  scb(
    "namespace name with capitals",
    { namespace: "DEV", storageClass: "gold", limit: "5Gi" },
    "spec.namespace",
  ),
  esx("no memory", { capacity: { cpu: 8 } }, "spec.capacity.memory: Required value"),
  esx("zero CPU", { capacity: { cpu: "0", memory: "1Gi" } }, "capacity.cpu must be a positive quantity"),
  esx("zero pods", { capacity: { ...cap, pods: 0 } }, "spec.capacity.pods"),
  esx("zone with a space", { capacity: cap, zone: "Zone A" }, "spec.zone"),
  esx("pod CIDR that is not one", { capacity: cap, podCIDR: "10.0.0.0/33" }, "podCIDR must be an IPv4 CIDR"),
  esx(
    "management IP out of range",
    { capacity: cap, managementIP: "999.1.1.1" },
    "managementIP must be an IPv4 address",
  ),
  esx(
    "start delay that is not a duration",
    { capacity: cap, simulation: { podStartDelay: "soon" } },
    "spec.simulation.podStartDelay",
  ),
  esx("name with capitals", { capacity: cap }, "must be a DNS label", "esx.Host-1"),
  esx("no capacity", {}, "spec.capacity: Required value"),
  vpod("no containers", tmpl({ containers: [] }), "spec.template.spec.containers"),
  vpod(
    "nodeName in the template",
    tmpl({ nodeName: "esx-01", containers: [{ name: "c", image: "nginx" }] }),
    "use spec.hostName",
  ),
  vpod(
    "container without an image",
    tmpl({ containers: [{ name: "c" }] }),
    "spec.template.spec.containers[0].image: Required value",
  ),
  vpod("no template", {}, "spec.template: Required value"),
];

describe("the API server refuses invalid manifests with a message naming the field", () => {
  it("has at least 30 cases", () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it.each(cases)("$rt.kind: $what", async (c) => {
    const body = {
      apiVersion: c.rt.group === "vsphere.pacific.dev" ? api : `${c.rt.group}/${c.rt.version}`,
      kind: c.rt.kind,
      metadata: { name: c.name, ...(c.rt.namespaced ? { namespace: "default" } : {}) },
      spec: c.spec,
    };
    let status = { code: 200, message: "" };
    try {
      await client.create(c.rt, body);
    } catch (e) {
      status = apiStatus(e);
    }
    expect(status.code, `accepted: ${JSON.stringify(c.spec)}`).toBe(422);
    expect(status.message).toContain(c.says);
    // Nothing was stored.
    await expect(client.get(c.rt, c.name, c.rt.namespaced ? "default" : undefined)).rejects.toThrow();
  });

  it("refuses changing a StorageClassBinding's namespace or class", async () => {
    const name = `immutable-${Date.now()}`;
    await client.create(StorageClassBindingResource, {
      apiVersion: api,
      kind: "StorageClassBinding",
      metadata: { name },
      spec: { namespace: "nowhere", storageClass: "gold", limit: "1Gi" },
    });
    try {
      const r = await client
        .patch(StorageClassBindingResource, name, undefined, { spec: { namespace: "elsewhere" } })
        .then(
          () => ({ code: 200, message: "" }),
          (e) => apiStatus(e),
        );
      expect(r.code).toBe(422);
      expect(r.message).toContain("spec.namespace cannot be changed");
    } finally {
      await client.delete(StorageClassBindingResource, name);
    }
  });
});
