// The Machine controller: each Machine gets a VirtualMachine of the same name (its infrastructure),
// made from the VM template its owner put on it, and reports the VM's progress as Cluster API
// phases: Pending → Provisioning (VM created, booting) → Running (powered on with an address; the
// simulated node has joined). Deletion needs no finalizer: the VM is owned by the Machine and the
// garbage collector removes it first (Machines are deleted in the foreground).
import { type Machine, MachineResource, type MachineStatus } from "../api/cluster/machine.ts";
import { type VirtualMachine, VirtualMachineResource } from "../api/vmoperator/virtualmachine.ts";
import type { KubeClient } from "../runtime/client.ts";
import { type Condition, findCondition, type NewCondition, setConditions } from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isAlreadyExists } from "../runtime/errors.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Manager } from "../runtime/manager.ts";
import { controllerRef } from "../runtime/owner.ts";
import { deepEqual } from "../runtime/patch.ts";
import { Labels, VM_OPERATOR, VMTemplateAnnotations } from "./labels.ts";

/** The VirtualMachine for a Machine. */
export function desiredVM(m: Machine): VirtualMachine {
  const a = m.metadata.annotations ?? {};
  const cp = m.metadata.labels?.[Labels.controlPlane] !== undefined;
  return {
    apiVersion: VM_OPERATOR,
    kind: "VirtualMachine",
    metadata: {
      name: m.metadata.name,
      namespace: m.metadata.namespace,
      labels: {
        [Labels.clusterName]: m.spec.clusterName,
        [Labels.capvClusterName]: m.spec.clusterName,
        [Labels.capvClusterRole]: cp ? "controlplane" : "node",
        ...(cp ? { [Labels.controlPlane]: "" } : {}),
        ...(m.metadata.labels?.[Labels.deploymentName]
          ? { [Labels.deploymentName]: m.metadata.labels[Labels.deploymentName] }
          : {}),
      },
      ownerReferences: [
        controllerRef({ apiVersion: "cluster.x-k8s.io/v1beta1", kind: "Machine", metadata: m.metadata }),
      ],
    },
    spec: {
      className: a[VMTemplateAnnotations.className] ?? "",
      imageName: a[VMTemplateAnnotations.imageName],
      storageClass: a[VMTemplateAnnotations.storageClass],
      powerState: "PoweredOn",
      powerOffMode: "TrySoft",
      suspendMode: "TrySoft",
      restartMode: "TrySoft",
    },
  };
}

/** The Machine's status as its VM makes it. */
export function machineStatus(
  m: Machine,
  vm: VirtualMachine | undefined,
): { status: MachineStatus; conds: NewCondition[] } {
  const g = m.metadata.generation;
  const status: MachineStatus = {
    ...m.status,
    observedGeneration: g,
    bootstrapReady: true,
  };
  const vmReady = findCondition(vm?.status?.conditions as Condition[] | undefined, "Ready");
  const ip = vm?.status?.network?.primaryIP4;
  const running = vm?.status?.powerState === "PoweredOn" && !!ip;
  status.infrastructureReady = running;
  status.phase = !vm ? "Pending" : running ? "Running" : "Provisioning";
  if (running) {
    status.nodeRef = { apiVersion: "v1", kind: "Node", name: m.metadata.name };
    status.addresses = [
      { type: "InternalIP", address: ip! },
      { type: "Hostname", address: m.metadata.name! },
    ];
  }
  const infra: NewCondition = running
    ? {
        type: "InfrastructureReady",
        status: "True",
        reason: "Ready",
        message: `VirtualMachine on ${vm?.status?.host}`,
      }
    : {
        type: "InfrastructureReady",
        status: "False",
        reason:
          vmReady?.status === "False" ? vmReady.reason : vm ? "Provisioning" : "WaitingForInfrastructure",
        message: vmReady?.status === "False" ? vmReady.message : vm ? "the VirtualMachine is starting" : "",
      };
  return {
    status,
    conds: [
      { type: "BootstrapReady", status: "True", reason: "Ready", message: "" },
      infra,
      { ...infra, type: "Ready" },
    ],
  };
}

export class MachineReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly machines: Informer<Machine>,
    private readonly vms: Informer<VirtualMachine>,
  ) {}

  async reconcile(req: Request): Promise<Result | undefined> {
    const m = this.machines.store.get(req.namespace, req.name);
    if (!m || m.metadata.deletionTimestamp) return undefined;
    let vm = this.vms.store.get(req.namespace, req.name);
    if (vm?.metadata.ownerReferences?.every((r) => r.uid !== m.metadata.uid)) vm = undefined; // not ours
    if (!vm && !this.vms.store.get(req.namespace, req.name)) {
      try {
        await this.client.create(VirtualMachineResource, desiredVM(m));
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
    const { status, conds } = machineStatus(m, vm);
    const next = {
      ...status,
      conditions: setConditions(m.status?.conditions as Condition[] | undefined, conds),
    };
    const providerID = vm?.status?.biosUUID ? `vsphere://${vm.status.biosUUID}` : undefined;
    if (providerID && m.spec.providerID !== providerID)
      await this.client.patch(MachineResource, m.metadata.name!, m.metadata.namespace, {
        spec: { providerID },
      });
    const clean = JSON.parse(JSON.stringify(next));
    if (!deepEqual(clean, m.status))
      await this.client.patch(
        MachineResource,
        m.metadata.name!,
        m.metadata.namespace,
        { status: clean },
        { subresource: "status" },
      );
    return undefined;
  }
}

export function setupMachineController(
  mgr: Manager,
  machines: Informer<Machine>,
  vms: Informer<VirtualMachine>,
): void {
  mgr
    .controller("machine")
    .for(MachineResource)
    .owns(VirtualMachineResource, { predicate: anyChange })
    .withOptions({ maxConcurrentReconciles: 16 })
    .complete(new MachineReconciler(mgr.client, machines, vms));
}
