// The VM Service's decisions for one VirtualMachine, as pure functions: what it reserves, whether
// its class and storage are usable, where it must go (placement, vMotion off a host in maintenance,
// a vSphere HA restart off a failed host), when it is powered on, what the namespace's limits
// allow, and the Ready summary, with VM Operator's condition types and reasons.
import { SimulationAnnotations } from "../../api/contracts.ts";
import type { VirtualMachine, VirtualMachineStatus } from "../../api/vmoperator/virtualmachine.ts";
import type {
  VirtualMachineClass,
  VirtualMachineClassSpec,
} from "../../api/vmoperator/virtualmachineclass.ts";
import type { Condition, ConditionStatus } from "../../runtime/conditions.ts";
import { durationOr } from "../../settings.ts";
import { uuidFrom } from "../../shared/ids.ts";
import { bytes, cpuMilli, type Resources, zeroResources } from "../../shared/quantity.ts";
import { storageAllowed } from "../../shared/storage.ts";

export const Conditions = {
  classReady: "VirtualMachineClassReady",
  imageReady: "VirtualMachineImageReady",
  storageReady: "VirtualMachineStorageReady",
  created: "VirtualMachineCreated",
  poweredOn: "VirtualMachinePoweredOn",
  ready: "Ready",
} as const;

/** What a phase learnt about one condition; marked on the VM once, at the end of the reconcile. */
export interface Verdict {
  status: ConditionStatus;
  reason: string;
  message: string;
}
/**
 * The power state asked for. Upstream's CRD has no default for spec.powerState: VM Operator's
 * mutating webhook sets PoweredOn on create. Pacific's CRD defaults it; against upstream's CRDs
 * (no webhook here) it may be absent, and absent means what the webhook would have set.
 */
export function wantedPower(vm: VirtualMachine): NonNullable<VirtualMachine["spec"]["powerState"]> {
  return (vm.spec.powerState as VirtualMachine["spec"]["powerState"] | undefined) ?? "PoweredOn";
}

export const ok = (reason = "Ready", message = ""): Verdict => ({ status: "True", reason, message });
export const notOk = (reason: string, message: string): Verdict => ({ status: "False", reason, message });

/** What a VM of this class reserves on its host: the class's requests (guaranteed-*), else nothing (best-effort-*). */
export function reservationOf(spec: VirtualMachineClassSpec | undefined): Resources {
  const r = spec?.policies?.resources?.requests;
  if (!r) return zeroResources;
  return { cpuMilli: cpuMilli(r.cpu ?? 0), memory: bytes(r.memory ?? 0), pods: 0 };
}

/** A placed VM holds its reservation while it is meant to run (vSphere admits reservations at power-on). */
export function holdsReservation(vm: VirtualMachine): boolean {
  return !!vm.status?.host && wantedPower(vm) === "PoweredOn" && !vm.metadata.deletionTimestamp;
}

/** The class the VM runs with now: the applied one (status.class), else the asked-for one. */
export function appliedClassName(vm: VirtualMachine): string {
  return vm.status?.class?.name ?? vm.spec.className;
}

/** The class, image and storage verdicts: what must hold before the VM can be placed. */
export function prerequisites(
  vm: VirtualMachine,
  cls: VirtualMachineClass | undefined,
  nsAnnotations: Record<string, string> | undefined,
): Verdict[] {
  const ns = vm.metadata.namespace;
  return [
    cls
      ? ok()
      : notOk("NotFound", `VirtualMachineClass ${vm.spec.className} is not available in namespace ${ns}`),
    ok(),
    storageAllowed(vm.spec.storageClass, nsAnnotations)
      ? ok()
      : notOk(
          "NotFound",
          `storage class ${vm.spec.storageClass} is not bound to namespace ${ns} (a StorageClassBinding grants it)`,
        ),
  ];
}
export const PREREQUISITE_TYPES = [Conditions.classReady, Conditions.imageReady, Conditions.storageReady];

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
  const d = durationOr(vm.metadata.annotations?.[SimulationAnnotations.vmBootDelay], delayMs);
  return d + Math.floor(jitterMs * fraction);
}

/** `nextRestartTime: now` asks for a restart; it is stamped with the time first, as VM Operator's webhook does. */
export function restartRequestedNow(vm: VirtualMachine): boolean {
  return vm.spec.nextRestartTime?.toLowerCase() === "now";
}

/** A restart is due when the stamped nextRestartTime is newer than the last restart. */
export function restartDue(vm: VirtualMachine): boolean {
  const next = vm.spec.nextRestartTime;
  if (!next) return false;
  const last = vm.status?.lastRestartTime;
  return !last || Date.parse(next) > Date.parse(last);
}

export interface Power {
  powerState: VirtualMachineStatus["powerState"];
  verdict: Verdict;
  /** Still booting: look again then. */
  requeueAfter?: number;
}

/**
 * The power state of a placed VM. Booting runs from the moment the PoweredOn condition turned
 * Unknown: its transition time survives a restart of the manager, so the boot is not started over.
 */
export function powerFor(
  vm: VirtualMachine,
  current: VirtualMachineStatus["powerState"],
  previous: Condition | undefined,
  restarting: boolean,
  bootMs: number,
  now: number,
): Power {
  const wanted = wantedPower(vm);
  if (wanted !== "PoweredOn") return { powerState: wanted, verdict: notOk(wanted, "") };
  if (current === "PoweredOn" && !restarting) return { powerState: "PoweredOn", verdict: ok("PoweredOn") };
  const since = previous?.status === "Unknown" && !restarting ? Date.parse(previous.lastTransitionTime) : now;
  const due = since + bootMs;
  if (now >= due) return { powerState: "PoweredOn", verdict: ok("PoweredOn") };
  return {
    powerState: "PoweredOff",
    verdict: { status: "Unknown", reason: "PoweringOn", message: "booting" },
    requeueAfter: due - now + 5,
  };
}

/** Ready as VM Operator users read it: the first verdict that is not True (False), else True. */
export function readyVerdict(verdicts: Verdict[]): Verdict {
  const blocking = verdicts.find((v) => v.status !== "True");
  return blocking ? notOk(blocking.reason, blocking.message) : ok();
}

/** What the namespace's CPU/memory limits lack for `after` (the reservations with the new one). */
export function limitsExceeded(
  limits: { cpu?: number | string; memory?: number | string },
  after: Resources,
): string[] {
  const short: string[] = [];
  if (limits.cpu !== undefined && after.cpuMilli > cpuMilli(limits.cpu))
    short.push(`cpu (limit ${limits.cpu})`);
  if (limits.memory !== undefined && after.memory > bytes(limits.memory))
    short.push(`memory (limit ${limits.memory})`);
  return short;
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
