// The Machine reconciler's decisions against the in-memory client: the VM it makes, the phases it
// reports from the VM, the providerID, and how a foreign VM, AlreadyExists and NotFound end.
import { describe, expect, it } from "vitest";
import { type Machine, MachineResource } from "../../api/cluster/machine.ts";
import { CapiLabels, VMTemplateAnnotations } from "../../api/contracts.ts";
import { type VirtualMachine, VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import { ApiError } from "../../runtime/errors.ts";
import { FakeClient, notFound } from "../../runtime/testing/fakeclient.ts";
import { storeFrom } from "../../runtime/testing/stores.ts";
import { MachineReconciler } from "./reconciler.ts";

const NS = "dev";
const machine: Machine = {
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "Machine",
  metadata: {
    name: "tkc-1-control-plane-abcde-0",
    namespace: NS,
    labels: { [CapiLabels.clusterName]: "tkc-1", [CapiLabels.controlPlane]: "" },
    annotations: {
      [VMTemplateAnnotations.className]: "best-effort-small",
      [VMTemplateAnnotations.storageClass]: "vsan",
      [VMTemplateAnnotations.imageName]: "photon",
    },
  },
  spec: {
    clusterName: "tkc-1",
    bootstrap: { dataSecretName: "tkc-1-control-plane-abcde-0-bootstrap" },
    infrastructureRef: { kind: "VirtualMachine", name: "tkc-1-control-plane-abcde-0" },
    version: "v1.23.8+vmware.3",
  },
};
const name = machine.metadata.name ?? "";
const req = { namespace: NS, name };

interface Recorded {
  reason: string;
  note: string;
}

async function pass(c: FakeClient, events: Recorded[] = []) {
  const r = new MachineReconciler(
    c,
    await storeFrom(c, MachineResource),
    await storeFrom(c, VirtualMachineResource),
    { event: (_o, _type, reason, _action, note) => events.push({ reason, note }) },
  );
  return r.reconcile(req);
}

/** The VM Service at work: the VM boots on a host and gets an address. */
async function boot(c: FakeClient) {
  await c.patch<VirtualMachine>(
    VirtualMachineResource,
    name,
    NS,
    {
      status: {
        powerState: "PoweredOn",
        host: "esxi-1",
        biosUUID: "4215-aaaa",
        network: { primaryIP4: "127.0.1.5" },
      },
    },
    { subresource: "status" },
  );
}

const peek = (c: FakeClient) => c.peek(MachineResource, name, NS);
const reasonOf = (m: Machine | undefined, type: string) =>
  m?.status?.conditions?.find((x) => x.type === type)?.reason;

describe("MachineReconciler", () => {
  it("makes the VM from the template on the Machine and reports Provisioning, then Running with providerID and nodeRef", async () => {
    const c = new FakeClient([MachineResource, machine]);
    await pass(c);
    const vm = c.peek(VirtualMachineResource, name, NS);
    expect(vm?.spec).toMatchObject({
      className: "best-effort-small",
      storageClass: "vsan",
      imageName: "photon",
      powerState: "PoweredOn",
    });
    expect(vm?.metadata.labels).toMatchObject({
      [CapiLabels.capvClusterName]: "tkc-1",
      [CapiLabels.capvClusterRole]: "controlplane",
      [CapiLabels.controlPlane]: "",
    });
    expect(vm?.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Machine", controller: true });
    // The VM just made counts at once (the cache does not show it yet): Provisioning, not Pending.
    expect(peek(c)?.status?.phase).toBe("Provisioning");
    expect(reasonOf(peek(c), "InfrastructureReady")).toBe("Provisioning");

    // The cache now shows the VM, with no status yet: nothing new to report, no write.
    const writes = c.actions.length;
    await pass(c);
    expect(c.actions.slice(writes)).toEqual([]);

    await boot(c);
    await pass(c);
    const m = peek(c);
    expect(m?.spec.providerID).toBe("vsphere://4215-aaaa");
    expect(m?.status).toMatchObject({
      phase: "Running",
      infrastructureReady: true,
      bootstrapReady: true,
      nodeRef: { kind: "Node", name },
      addresses: [
        { type: "InternalIP", address: "127.0.1.5" },
        { type: "Hostname", address: name },
      ],
    });
    expect(m?.status?.conditions?.find((x) => x.type === "Ready")?.status).toBe("True");
    // Cluster API conditions carry no observedGeneration (the CRD would prune it).
    expect(m?.status?.conditions?.some((x) => "observedGeneration" in x)).toBe(false);

    // The providerID write moved the generation on, and the status written with it already says so:
    // no second status write for observedGeneration alone (the tkc benchmark's writes per VM).
    expect(m?.status?.observedGeneration).toBe(m?.metadata.generation);
    expect(m?.metadata.generation).toBe(2);
    const before = c.actions.length;
    await pass(c);
    expect(c.actions.slice(before)).toEqual([]);
  });

  it("leaves a VM of the same name that another object owns alone, and makes none beside it", async () => {
    const c = new FakeClient([MachineResource, machine]);
    await c.create(VirtualMachineResource, {
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachine",
      metadata: {
        name,
        namespace: NS,
        ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "x", uid: "other", controller: true }],
      },
      spec: { className: "x" },
    });
    await boot(c);
    await pass(c);
    expect(c.writes("VirtualMachine").filter((a) => a.verb === "create")).toHaveLength(1); // ours above
    expect(peek(c)?.status?.phase).toBe("Pending");
    expect(peek(c)?.spec.providerID).toBeUndefined();
  });

  it("takes AlreadyExists on the VM (a stale cache) and NotFound on the Machine (deleted meanwhile) as no failure", async () => {
    const c = new FakeClient([MachineResource, machine]);
    c.failNext("create", new ApiError(409, "AlreadyExists", "already exists"), "VirtualMachine");
    c.failNext("patch", notFound(MachineResource, name), "Machine");
    await expect(pass(c)).resolves.toBeUndefined();
    expect(peek(c)?.status).toBeUndefined();
  });

  it("fails the reconcile on a Conflict or any other error (it is requeued), and the next pass completes", async () => {
    const c = new FakeClient([MachineResource, machine]);
    c.failNext("create", new ApiError(409, "Conflict", "the object has been modified"), "VirtualMachine");
    await expect(pass(c)).rejects.toThrow(/modified/);
    await pass(c);
    expect(c.peek(VirtualMachineResource, name, NS)).toBeDefined();
  });

  it("reports a VM the namespace's quota refuses as InfrastructureReady=False QuotaExceeded with the quota's message, an event, and a later retry", async () => {
    const c = new FakeClient([MachineResource, machine]);
    const quota =
      'virtualmachines.vmoperator.vmware.com "x" is forbidden: exceeded quota: pacific-limits, requested: count/virtualmachines.vmoperator.vmware.com=1, used: count/virtualmachines.vmoperator.vmware.com=10, limited: count/virtualmachines.vmoperator.vmware.com=10';
    c.failNext("create", new ApiError(403, "Forbidden", quota), "VirtualMachine");
    const events: Recorded[] = [];
    await expect(pass(c, events)).resolves.toEqual({ requeueAfter: 30_000 });
    const m = peek(c);
    expect(m?.status?.phase).toBe("Pending");
    for (const type of ["InfrastructureReady", "Ready"])
      expect(m?.status?.conditions?.find((x) => x.type === type)).toMatchObject({
        status: "False",
        severity: "Warning",
        reason: "QuotaExceeded",
        message: quota,
      });
    expect(events).toEqual([{ reason: "QuotaExceeded", note: quota }]);
    // The quota frees up: the retry makes the VM, and the condition moves on.
    await pass(c);
    expect(c.peek(VirtualMachineResource, name, NS)).toBeDefined();
    expect(reasonOf(peek(c), "InfrastructureReady")).toBe("Provisioning");
  });

  it("leaves a 403 that is not a quota (RBAC still settling) to the backoff", async () => {
    const c = new FakeClient([MachineResource, machine]);
    c.failNext("create", new ApiError(403, "Forbidden", "cannot create resource"), "VirtualMachine");
    await expect(pass(c)).rejects.toThrow(/cannot create/);
    expect(peek(c)?.status).toBeUndefined();
  });

  it("does nothing for a Machine being deleted (the garbage collector removes its VM)", async () => {
    const c = new FakeClient([
      MachineResource,
      { ...machine, metadata: { ...machine.metadata, finalizers: ["x"] } },
    ]);
    await c.delete(MachineResource, name, NS);
    const before = c.actions.length;
    await pass(c);
    expect(c.actions.slice(before)).toEqual([]);
  });
});
