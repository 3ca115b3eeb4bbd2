// Drives one machine owner (KubeadmControlPlane, MachineDeployment) through the shared reconciler
// against the in-memory client, as the kind tests of both need: a pass with fresh caches, the
// machines it made, and "every machine runs now" (what VM Operator would report).
import { type Machine, MachineResource } from "../../api/cluster/machine.ts";
import { silentLogger } from "../../runtime/log.ts";
import { byControllerUid } from "../../runtime/store.ts";
import type { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { storeFrom } from "../../runtime/testing/stores.ts";
import {
  type MachineOwner,
  type MachineOwnerKind,
  MachineOwnerReconciler,
  OWNER_INDEX,
} from "../machineowner.ts";

export function machineOwnerDriver<T extends MachineOwner>(
  kind: MachineOwnerKind<T>,
  namespace: string,
  name: string,
) {
  const machines = async (c: FakeClient) => (await c.list(MachineResource)).items;
  return {
    /** One reconcile of the owner, with caches rebuilt from what the client holds now. */
    async pass(c: FakeClient) {
      const r = new MachineOwnerReconciler(
        c,
        kind,
        await storeFrom(c, kind.resource),
        await storeFrom(c, MachineResource, { [OWNER_INDEX]: byControllerUid }),
      );
      return r.reconcile({ namespace, name }, silentLogger);
    },
    machines,
    /** Marks every machine Running. */
    async runAll(c: FakeClient) {
      for (const m of await machines(c))
        await c.patch<Machine>(
          MachineResource,
          m.metadata.name ?? "",
          namespace,
          { status: { phase: "Running" } },
          { subresource: "status" },
        );
    },
  };
}
