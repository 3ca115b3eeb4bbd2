// The status an ESXiHost reports. Pure.
import type { V1Node } from "@kubernetes/client-node";
import type { ESXiHost, ESXiHostStatus } from "../api/vsphere/esxihost.ts";
import { nodeReady } from "../placement/inventory.ts";
import { formatBytes, formatCpu, type Resources, subResources } from "../quantity.ts";
import { type NewCondition, setConditions } from "../runtime/conditions.ts";

export type ConnectionState = NonNullable<ESXiHostStatus["connectionState"]>;

export function heartbeatsOn(host: ESXiHost): boolean {
  return host.spec.simulation?.heartbeats !== false;
}

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
  /** A Node of that name exists but belongs to something else. */
  nodeConflict?: string;
  /** The Ready reason of nodeConflict (NodeConflict when unset; PodCIDRConflict, ManagementIPConflict). */
  conflictReason?: string;
}

export function hostStatus(host: ESXiHost, f: HostFacts, now: Date): ESXiHostStatus {
  const state = f.nodeConflict ? "disconnected" : connectionState(host, f.node);
  const free = subResources(f.capacity, f.allocated);
  const maintenance = host.spec.maintenanceMode;
  const inMaintenance = maintenance && f.toEvacuate === 0;
  const g = host.metadata.generation;
  const ready: NewCondition = f.nodeConflict
    ? {
        type: "Ready",
        status: "False",
        reason: f.conflictReason ?? "NodeConflict",
        message: f.nodeConflict,
        observedGeneration: g,
      }
    : state === "connected"
      ? {
          type: "Ready",
          status: "True",
          reason: "Connected",
          message: "the Spherelet is posting ready status",
          observedGeneration: g,
        }
      : state === "notResponding"
        ? {
            type: "Ready",
            status: "False",
            reason: "NotResponding",
            message: "the host stopped sending heartbeats; its node is Unknown",
            observedGeneration: g,
          }
        : {
            type: "Ready",
            status: "False",
            reason: "Disconnected",
            message: "the host has no Node yet",
            observedGeneration: g,
          };
  const schedulable: NewCondition = inMaintenance
    ? {
        type: "Schedulable",
        status: "False",
        reason: "InMaintenanceMode",
        message: "the host is in maintenance mode",
        observedGeneration: g,
      }
    : maintenance
      ? {
          type: "Schedulable",
          status: "False",
          reason: f.evacuationBlocked ? "EvacuationBlocked" : "EnteringMaintenanceMode",
          message: f.evacuationBlocked ?? `evacuating ${f.toEvacuate} workload(s)`,
          observedGeneration: g,
        }
      : state !== "connected"
        ? {
            type: "Schedulable",
            status: "False",
            reason: ready.reason,
            message: ready.message,
            observedGeneration: g,
          }
        : { type: "Schedulable", status: "True", reason: "Schedulable", message: "", observedGeneration: g };
  return {
    observedGeneration: g,
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
    conditions: setConditions(host.status?.conditions, [ready, schedulable], now),
  };
}
