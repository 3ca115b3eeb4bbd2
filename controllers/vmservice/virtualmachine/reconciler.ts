// The VirtualMachine controller: a VM is placed on an ESXi host by the shared DRS engine, counts its
// class's reservation against the host (the Node's allocatable drops) and the Supervisor
// Namespace's limits, powers on after the boot delay, gets an address on the workload network,
// moves off a host entering maintenance mode (vMotion), is restarted elsewhere when its host fails
// (vSphere HA), and is resized when its className changes and the host has room.
//
// Shape: get from the cache → (deleted: reconcileDelete) → reconcileNormal, a list of phases on the
// patch helper's working copy, each returning what it learnt → the conditions marked once → one
// status write. No finalizer: nothing of a VM's lives outside the API server but in-memory
// assumptions and addresses, which deletion releases.
import { type VirtualMachine, VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import {
  type VirtualMachineClass,
  VirtualMachineClassApiVersion,
} from "../../api/vmoperator/virtualmachineclass.ts";
import type { Client } from "../../runtime/client.ts";
import { conditionOf, markFalse, markTrue, markUnknown, rfc3339 } from "../../runtime/conditions.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { Logger } from "../../runtime/log.ts";
import { PatchHelper } from "../../runtime/patchhelper.ts";
import { keyFor } from "../../runtime/resource.ts";
import { type SimulationSettings, stableFraction } from "../../settings.ts";
import type { IpPool } from "../../shared/ipam.ts";
import type { Inventory } from "../../shared/placement/inventory.ts";
import { Capacity, type VMCaches, vmAssumeKey } from "./capacity.ts";
import {
  appliedClassName,
  bootDelayMs,
  Conditions,
  identities,
  type Move,
  moveFor,
  notOk,
  ok,
  type Power,
  PREREQUISITE_TYPES,
  powerFor,
  prerequisites,
  readyVerdict,
  restartDue,
  restartRequestedNow,
  type Verdict,
  wantedPower,
} from "./decisions.ts";

export const UNPLACED_RETRY_MS = 15_000;

type BootSettings = Pick<SimulationSettings, "vmBootDelayMs" | "vmBootJitterMs">;

/** What the placement phase learnt: the Created verdict, and whether the VM has a host to go on with. */
interface Placement {
  placed: boolean;
  created: Verdict;
  requeueAfter?: number;
}

export class VirtualMachineReconciler implements Reconciler {
  private readonly capacity: Capacity;

  constructor(
    private readonly client: Client,
    private readonly inv: Inventory,
    private readonly c: VMCaches,
    private readonly events: Pick<EventRecorder, "event">,
    private readonly settings: BootSettings,
    private readonly ips: IpPool,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.capacity = new Capacity(inv, c);
  }

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const vm = this.c.vms.get(req.namespace, req.name);
    if (!vm || vm.metadata.deletionTimestamp) return this.reconcileDelete(req);
    const now = this.clock();
    const h = new PatchHelper(this.client, VirtualMachineResource, vm);
    if (restartRequestedNow(vm)) {
      // The stamp then drives the restart (a restart is due when it is newer than lastRestartTime).
      h.obj.spec.nextRestartTime = rfc3339(now);
      await h.patch();
      return undefined;
    }
    const result = this.reconcileNormal(h.obj, log, now);
    await h.patch();
    return result;
  }

  /** Releases what only this process holds for the VM: its placement assumption and pending address. */
  private reconcileDelete(req: Request): undefined {
    this.inv.forget(vmAssumeKey(req.namespace, req.name));
    this.ips.release(keyFor(req.namespace, req.name));
    return undefined;
  }

  /** The phases, on the working copy `vm`; what they learnt is marked as conditions at the end. */
  private reconcileNormal(vm: VirtualMachine, log: Logger, now: Date): Result | undefined {
    vm.status = { ...vm.status, ...identities(vm), observedGeneration: vm.metadata.generation };
    const applied = appliedClassName(vm);
    const cls = this.capacity.classOf(vm, vm.spec.className);
    const nsAnnotations = this.c.namespaces.get(vm.metadata.namespace)?.metadata?.annotations;
    const prereq = prerequisites(vm, cls, nsAnnotations);
    const placement = this.placementPhase(vm, cls, prereq, log);
    const verdicts = [...zip(PREREQUISITE_TYPES, prereq), [Conditions.created, placement.created] as const];
    if (!placement.placed) {
      conclude(vm, verdicts, now);
      return soonest(placement.requeueAfter);
    }
    const resized = this.resizePhase(vm, cls, applied);
    if (resized) verdicts[0] = [Conditions.classReady, resized]; // the class is there, the room is not
    this.addressPhase(vm);
    const power = this.powerPhase(vm, now);
    verdicts.push([Conditions.poweredOn, power.verdict]);
    conclude(vm, verdicts, now);
    return soonest(placement.requeueAfter, resized ? UNPLACED_RETRY_MS : undefined, power.requeueAfter);
  }

  /** Where it runs: stays, is placed, migrates (vMotion) or is restarted elsewhere (vSphere HA). */
  private placementPhase(
    vm: VirtualMachine,
    cls: VirtualMachineClass | undefined,
    prereq: Verdict[],
    log: Logger,
  ): Placement {
    const status = vm.status ?? {};
    const here = () => ok("Created", `on ESXi host ${status.host}`);
    const move = moveFor(vm, this.capacity.hostHealth(status.host));
    if (move.kind === "stay") return { placed: true, created: here() };
    const blocked = prereq.find((v) => v.status !== "True");
    const placed =
      blocked || !cls ? undefined : this.capacity.place(vm, cls, move.kind === "place" ? [] : [move.from]);
    if (placed?.ok) {
      this.moveTo(vm, cls, move, placed.host, log);
      return { placed: true, created: here() };
    }
    // No other host can take it: it stays and the host's maintenance mode waits, as in vCenter.
    if (move.kind === "migrate") return { placed: true, created: here(), requeueAfter: UNPLACED_RETRY_MS };
    const reason = blocked?.reason ?? placed?.reason ?? "InsufficientCapacity";
    const message = blocked?.message ?? placed?.message ?? "";
    status.host = undefined;
    status.nodeName = undefined;
    status.powerState = "PoweredOff";
    if (!blocked || move.kind === "restart") this.events.event(vm, "Warning", reason, "Place", message);
    return {
      placed: false,
      created: notOk(blocked ? "NotReady" : reason, message),
      requeueAfter: blocked ? undefined : UNPLACED_RETRY_MS,
    };
  }

  private moveTo(
    vm: VirtualMachine,
    cls: VirtualMachineClass | undefined,
    move: Move,
    host: string,
    log: Logger,
  ) {
    const status = vm.status ?? {};
    status.host = host;
    status.nodeName = host;
    status.zone = this.capacity.zoneOf(host);
    status.class = {
      apiVersion: VirtualMachineClassApiVersion,
      kind: "VirtualMachineClass",
      name: cls?.metadata.name ?? vm.spec.className,
    };
    if (move.kind === "migrate") {
      const note = `migrated from ${move.from} (entering maintenance mode) to ${host}`;
      this.events.event(vm, "Normal", "Migrated", "vMotion", note);
    } else if (move.kind === "restart") {
      status.powerState = "PoweredOff"; // vSphere HA powers it on again on the new host
      const note = `host ${move.from} is not responding; restarted on ${host} (vSphere HA)`;
      this.events.event(vm, "Warning", "HostFailure", "Restart", note);
    } else {
      this.events.event(vm, "Normal", "Placed", "Place", `placed on ESXi host ${host}`);
    }
    log.info({ host, move: move.kind }, "virtual machine placed");
  }

  /** A new className is applied when the host (and the namespace) have room; else why not. */
  private resizePhase(
    vm: VirtualMachine,
    cls: VirtualMachineClass | undefined,
    applied: string,
  ): Verdict | undefined {
    const status = vm.status ?? {};
    if (!cls || applied === vm.spec.className || status.class?.name !== applied) return undefined;
    const why = this.capacity.resizeBlocked(vm, cls, status.host ?? "");
    if (why) return notOk("InsufficientCapacity", why);
    const note = `resized from ${status.class?.name} to ${cls.metadata.name}`;
    this.events.event(vm, "Normal", "Resized", "Resize", note);
    status.class = { ...status.class, name: cls.metadata.name };
    return undefined;
  }

  /** An address on the workload network, kept for the VM's life (also across vMotion and HA). */
  private addressPhase(vm: VirtualMachine): void {
    const status = vm.status ?? {};
    if (status.network?.primaryIP4) return;
    const ip = this.ips.allocate(keyFor(vm.metadata.namespace, vm.metadata.name ?? ""));
    if (ip) status.network = { ...status.network, primaryIP4: ip };
  }

  /** Restart when asked, power off when asked, power on after the boot delay. */
  private powerPhase(vm: VirtualMachine, now: Date): Power {
    const status = vm.status ?? {};
    const restarting = restartDue(vm);
    const previous = conditionOf(vm, Conditions.poweredOn);
    const current = status.powerState;
    if (restarting) {
      status.lastRestartTime = vm.spec.nextRestartTime;
      this.events.event(vm, "Normal", "Restarted", "Restart", "restarted (nextRestartTime)");
    }
    const fraction = stableFraction(vm.metadata.uid ?? vm.metadata.name ?? "");
    const boot = bootDelayMs(vm, this.settings.vmBootDelayMs, this.settings.vmBootJitterMs, fraction);
    const power = powerFor(vm, current, previous, restarting, boot, now.getTime());
    status.powerState = power.powerState;
    return power;
  }
}

/** Marks every verdict, then Ready (PoweredOn counts only when the VM is meant to run). */
function conclude(vm: VirtualMachine, verdicts: ReadonlyArray<readonly [string, Verdict]>, now: Date): void {
  for (const [type, v] of verdicts) mark(vm, type, v, now);
  const poweredOnWanted = wantedPower(vm) === "PoweredOn";
  const forReady = verdicts.filter(([t]) => t !== Conditions.poweredOn || poweredOnWanted).map(([, v]) => v);
  mark(vm, Conditions.ready, readyVerdict(forReady), now);
}

function mark(vm: VirtualMachine, type: string, v: Verdict, now: Date): void {
  if (v.status === "True") markTrue(vm, type, v.reason, v.message, now);
  else if (v.status === "False") markFalse(vm, type, v.reason, v.message, now);
  else markUnknown(vm, type, v.reason, v.message, now);
}

function zip(types: readonly string[], verdicts: Verdict[]): Array<[string, Verdict]> {
  return verdicts.map((v, i) => [types[i] ?? "", v]);
}

/** The earliest of the requeues asked for, if any. */
function soonest(...after: Array<number | undefined>): Result | undefined {
  const ms = after.filter((x): x is number => x !== undefined);
  return ms.length ? { requeueAfter: Math.min(...ms) } : undefined;
}
