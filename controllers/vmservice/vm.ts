// The VM Service's decisions for one VirtualMachine, as pure functions: what it reserves, whether
// its class and storage are usable, where it must go (placement, vMotion off a host in maintenance,
// a vSphere HA restart off a failed host), when it is powered on, and the status that says so with
// VM Operator's condition types and reasons.
import type { VirtualMachine, VirtualMachineStatus } from "../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineClass, VirtualMachineClassSpec } from "../api/vmoperator/virtualmachineclass.ts";
import type { NewCondition } from "../runtime/conditions.ts";
import { durationOr } from "../settings.ts";
import { uuidFrom } from "../shared/ids.ts";
import { bytes, cpuMilli, type Resources, zeroResources } from "../shared/quantity.ts";

export const Conditions = {
  classReady: "VirtualMachineClassReady",
  imageReady: "VirtualMachineImageReady",
  storageReady: "VirtualMachineStorageReady",
  created: "VirtualMachineCreated",
  poweredOn: "VirtualMachinePoweredOn",
  ready: "Ready",
} as const;

export const VM_BOOT_DELAY_ANNOTATION = "vsphere.pacific.dev/vm-boot-delay";
/** The Namespace annotation listing the storage classes bound to a Supervisor Namespace. */
export const STORAGE_CLASSES_ANNOTATION = "vsphere.pacific.dev/storage-classes";

/** What a VM of this class reserves on its host: the class's requests (guaranteed-*), else nothing (best-effort-*). */
export function reservationOf(spec: VirtualMachineClassSpec | undefined): Resources {
  const r = spec?.policies?.resources?.requests;
  if (!r) return zeroResources;
  return { cpuMilli: cpuMilli(r.cpu ?? 0), memory: bytes(r.memory ?? 0), pods: 0 };
}

/** A placed VM holds its reservation while it is meant to run (vSphere admits reservations at power-on). */
export function holdsReservation(vm: VirtualMachine): boolean {
  return !!vm.status?.host && vm.spec.powerState === "PoweredOn" && !vm.metadata.deletionTimestamp;
}

/** The class the VM runs with now: the applied one (status.class), else the asked-for one. */
export function appliedClassName(vm: VirtualMachine): string {
  return vm.status?.class?.name ?? vm.spec.className;
}

export type HostHealth = "ok" | "maintenance" | "failed" | "gone";

export type Move =
  | { kind: "stay" }
  /** Not placed yet, or its host is gone: place it anywhere that fits. */
  | { kind: "place" }
  /** vMotion: the host enters maintenance mode; the VM keeps running on another host. */
  | { kind: "migrate"; from: string }
  /** vSphere HA: the host failed; the VM is restarted on another host. */
  | { kind: "restart"; from: string };

export function moveFor(vm: VirtualMachine, host: HostHealth): Move {
  const on = vm.status?.host;
  if (!on) return { kind: "place" };
  switch (host) {
    case "ok":
      return { kind: "stay" };
    case "maintenance":
      return { kind: "migrate", from: on };
    case "failed":
      return { kind: "restart", from: on };
    case "gone":
      return { kind: "place" };
  }
}

/** Boot delay: the annotation, else the settings, plus stable per-VM jitter. */
export function bootDelayMs(vm: VirtualMachine, delayMs: number, jitterMs: number, fraction: number): number {
  const d = durationOr(vm.metadata.annotations?.[VM_BOOT_DELAY_ANNOTATION], delayMs);
  return d + Math.floor(jitterMs * fraction);
}

/** The class named by the VM, if the namespace has it. */
export function findClass(
  classes: readonly VirtualMachineClass[],
  name: string,
): VirtualMachineClass | undefined {
  return classes.find((c) => c.metadata.name === name);
}

/** Stable identities of a VM, derived from its uid (restart-safe, no state). */
export function identities(
  vm: VirtualMachine,
): Pick<VirtualMachineStatus, "uniqueID" | "biosUUID" | "instanceUUID"> {
  const uid = vm.metadata.uid ?? `${vm.metadata.namespace}/${vm.metadata.name}`;
  return {
    uniqueID: `vm-${(Number.parseInt(uuidFrom(`${uid}/moref`).slice(0, 6), 16) % 100000) + 1000}`,
    biosUUID: uuidFrom(`${uid}/bios`),
    instanceUUID: uuidFrom(`${uid}/instance`),
  };
}

/** The Ready summary VM Operator users read: created, and powered on when asked to be. */
export function readyCondition(conds: NewCondition[], generation: number | undefined): NewCondition {
  const blocking = conds.find((c) => c.status !== "True");
  return blocking
    ? {
        type: Conditions.ready,
        status: "False",
        reason: blocking.reason,
        message: blocking.message,
        observedGeneration: generation,
      }
    : {
        type: Conditions.ready,
        status: "True",
        reason: "Ready",
        message: "",
        observedGeneration: generation,
      };
}
