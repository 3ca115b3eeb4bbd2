// The Machine controller's reconciler: each Machine gets a VirtualMachine of the same name (its
// infrastructure) and reports the VM's progress; the VM's BIOS UUID becomes spec.providerID. One
// write through the patch helper (spec, then status). Deletion needs no finalizer: the VM is owned
// by the Machine and the garbage collector removes it first (Machines are deleted in the foreground).
import { type Machine, MachineResource } from "../../api/cluster/machine.ts";
import { type VirtualMachine, VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import type { Client } from "../../runtime/client.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import { ignoreAlreadyExists } from "../../runtime/errors.ts";
import { PatchHelper } from "../../runtime/patchhelper.ts";
import type { Store } from "../../runtime/store.ts";
import { desiredVM, machineStatus, ownVM, providerIDOf } from "./desired.ts";

export class MachineReconciler implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly machines: Store<Machine>,
    private readonly vms: Store<VirtualMachine>,
  ) {}

  async reconcile(req: Request): Promise<Result | undefined> {
    const m = this.machines.get(req.namespace, req.name);
    if (!m || m.metadata.deletionTimestamp) return undefined;
    const named = this.vms.get(req.namespace, req.name);
    // A VM of that name that is not ours is left alone (and none is made beside it).
    if (!named) await this.client.create(VirtualMachineResource, desiredVM(m)).catch(ignoreAlreadyExists);
    const vm = ownVM(m, named);
    const h = new PatchHelper(this.client, MachineResource, m);
    const providerID = providerIDOf(vm);
    if (providerID) h.obj.spec.providerID = providerID;
    h.obj.status = machineStatus(m, vm);
    // Setting providerID bumps the generation by one; the status in the same write already reflects
    // that spec (both come from this VM), so it carries the new generation instead of costing a
    // second status write for observedGeneration alone. A concurrent spec change leaves it lower,
    // and the next reconcile catches up.
    if (h.obj.spec.providerID !== m.spec.providerID)
      h.obj.status.observedGeneration = (m.metadata.generation ?? 1) + 1;
    await h.patch();
    return undefined;
  }
}
