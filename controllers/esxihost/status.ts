// The status an ESXiHost reports, when it is written, and the events a change is worth. Pure.
import type { V1Node } from "@kubernetes/client-node";
import type { ESXiHost, ESXiHostStatus } from "../api/vsphere/esxihost.ts";
import { markFalse, markTrue } from "../runtime/conditions.ts";
import type { EventType } from "../runtime/events.ts";
import { deepEqual } from "../runtime/patch.ts";
import { heartbeatsOn, nodeReady } from "../shared/placement/inventory.ts";
import { formatBytes, formatCpu, type Resources, subResources } from "../shared/quantity.ts";

export type ConnectionState = NonNullable<ESXiHostStatus["connectionState"]>;

/** Counts and allocations (podCount, free CPU, ...) are written at most this often per host. */
export const COUNTS_INTERVAL_MS = 5_000;

/**
 * connected: the Spherelet posts Ready; notResponding: heartbeats stopped and the node lifecycle
 * controller noticed (Ready Unknown); disconnected: there is no Node.
 */
export function connectionState(host: ESXiHost, node: V1Node | undefined): ConnectionState {
  if (!node) return "disconnected";
  if (heartbeatsOn(host)) return "connected";
  return nodeReady(node) ? "connected" : "notResponding";
}

export interface HostFacts {
  node: V1Node | undefined;
  capacity: Resources;
  /** Pod requests plus VM reservations. */
  allocated: Resources;
  pods: number;
  vms: number;
  /** Pods (and VMs) still to leave before maintenance mode is reached. */
  toEvacuate: number;
  /** Why evacuation is stuck (a PodDisruptionBudget), if it is. */
  evacuationBlocked?: string;
  lastHeartbeat?: Date;
  /** A Node of that name exists but belongs to something else (or its addresses are another host's). */
  nodeConflict?: string;
  /** The Ready reason of nodeConflict (NodeConflict when unset; PodCIDRConflict, ManagementIPConflict). */
  conflictReason?: string;
}

/** A working copy the condition helpers stamp with the host's generation. */
interface Working {
  metadata: ESXiHost["metadata"];
  status: ESXiHostStatus;
}

/** Ready: the connection (or the conflict that keeps the host from having a Node). */
function markReady(
  w: Working,
  state: ConnectionState,
  nodeConflict: string | undefined,
  now: Date,
  conflictReason = "NodeConflict",
): void {
  if (nodeConflict) markFalse(w, "Ready", conflictReason, nodeConflict, now);
  else if (state === "connected")
    markTrue(w, "Ready", "Connected", "the Spherelet is posting ready status", now);
  else if (state === "notResponding")
    markFalse(w, "Ready", "NotResponding", "the host stopped sending heartbeats; its node is Unknown", now);
  else markFalse(w, "Ready", "Disconnected", "the host has no Node yet", now);
}

/** Schedulable: maintenance mode (reached, blocked or in progress), else the connection. */
function markSchedulable(w: Working, host: ESXiHost, f: HostFacts, inMaintenance: boolean, now: Date): void {
  const ready = w.status.conditions?.find((c) => c.type === "Ready");
  if (inMaintenance) markFalse(w, "Schedulable", "InMaintenanceMode", "the host is in maintenance mode", now);
  else if (host.spec.maintenanceMode)
    markFalse(
      w,
      "Schedulable",
      f.evacuationBlocked ? "EvacuationBlocked" : "EnteringMaintenanceMode",
      f.evacuationBlocked ?? `evacuating ${f.toEvacuate} workload(s)`,
      now,
    );
  else if (ready && ready.status !== "True") markFalse(w, "Schedulable", ready.reason, ready.message, now);
  else markTrue(w, "Schedulable", "Schedulable", "", now);
}

export function hostStatus(host: ESXiHost, f: HostFacts, now: Date): ESXiHostStatus {
  const state = f.nodeConflict ? "disconnected" : connectionState(host, f.node);
  const free = subResources(f.capacity, f.allocated);
  const inMaintenance = host.spec.maintenanceMode && f.toEvacuate === 0;
  const w: Working = {
    metadata: host.metadata,
    status: {
      observedGeneration: host.metadata.generation,
      connectionState: state,
      powerState: "poweredOn",
      inMaintenanceMode: inMaintenance,
      nodeName: f.node?.metadata?.name,
      allocated: { cpu: formatCpu(f.allocated.cpuMilli), memory: formatBytes(f.allocated.memory) },
      free: { cpu: formatCpu(Math.max(0, free.cpuMilli)), memory: formatBytes(Math.max(0, free.memory)) },
      podCount: f.pods,
      vmCount: f.vms,
      lastHeartbeatTime: f.lastHeartbeat
        ? `${f.lastHeartbeat.toISOString().slice(0, 19)}Z`
        : host.status?.lastHeartbeatTime,
      conditions: host.status?.conditions,
    },
  };
  markReady(w, state, f.nodeConflict, now, f.conflictReason);
  markSchedulable(w, host, f, inMaintenance, now);
  return w.status;
}

/** Whether to write `next` now, or in how long (a counts-only change waits for its interval). */
export type StatusWrite = { write: true } | { write: false; dueInMs?: number };

/**
 * A pod starting changes podCount and free CPU; 10,000 pods must not mean 10,000 host writes:
 * a change of counts only waits until COUNTS_INTERVAL_MS after the last write. Anything else, and
 * a heartbeat time gone stale, is written at once.
 */
export function statusWrite(
  current: ESXiHostStatus | undefined,
  next: ESXiHostStatus,
  heartbeatStale: boolean,
  sinceLastWriteMs: number,
): StatusWrite {
  const { lastHeartbeatTime: _a, ...newer } = next;
  const { lastHeartbeatTime: _b, ...older } = current ?? {};
  const changed = !deepEqual(newer, older);
  if (changed && !heartbeatStale && sinceLastWriteMs < COUNTS_INTERVAL_MS) {
    if (deepEqual(withoutCounts(newer), withoutCounts(older)))
      return { write: false, dueInMs: COUNTS_INTERVAL_MS - sinceLastWriteMs };
  }
  return changed || heartbeatStale ? { write: true } : { write: false };
}

/** A host status without the fields that move with every pod. */
function withoutCounts(s: Record<string, unknown>): Record<string, unknown> {
  const { podCount: _p, vmCount: _v, allocated: _a, free: _f, ...rest } = s;
  return rest;
}

export interface HostEvent {
  type: EventType;
  reason: string;
  action: string;
  note: string;
}

/** The events a status change is worth: the connection flipped, maintenance mode reached. */
export function statusEvents(current: ESXiHostStatus | undefined, next: ESXiHostStatus): HostEvent[] {
  const events: HostEvent[] = [];
  if (current?.connectionState && next.connectionState !== current.connectionState) {
    const bad = next.connectionState !== "connected";
    events.push({
      type: bad ? "Warning" : "Normal",
      reason: bad ? "HostNotResponding" : "HostConnected",
      action: "Heartbeat",
      note: `host is ${next.connectionState}`,
    });
  }
  if (next.inMaintenanceMode && !current?.inMaintenanceMode)
    events.push({
      type: "Normal",
      reason: "EnteredMaintenanceMode",
      action: "Evacuate",
      note: "all workloads left the host",
    });
  return events;
}
