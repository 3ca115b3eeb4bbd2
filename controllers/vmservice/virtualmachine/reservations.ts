// VirtualMachines as a reservation source of the shared inventory: what the VMs placed on a host
// reserve there (the host controller watches them too, and the Node's allocatable drops).
import { type VirtualMachine, VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import type { ReservationSource } from "../../shared/placement/inventory.ts";
import { addResources, zeroResources } from "../../shared/quantity.ts";
import { HOST_INDEX, type VMCaches } from "./capacity.ts";
import { appliedClassName, holdsReservation, reservationOf } from "./decisions.ts";

export function vmReservations(c: Pick<VMCaches, "vms" | "classes">): ReservationSource {
  return {
    resource: VirtualMachineResource,
    hostsOf: (o) => {
      const host = (o as VirtualMachine).status?.host;
      return host ? [host] : [];
    },
    reservedOn(host: string) {
      let resources = zeroResources;
      let objects = 0;
      for (const vm of c.vms.byIndex(HOST_INDEX, host)) {
        if (vm.metadata.deletionTimestamp) continue;
        objects++;
        if (holdsReservation(vm))
          resources = addResources(
            resources,
            reservationOf(c.classes.get(vm.metadata.namespace, appliedClassName(vm))?.spec),
          );
      }
      return { resources, objects };
    },
  };
}
