// Per-host gauges, computed at scrape time from the caches (no state of their own):
//   pacific_esxihost_capacity_cpu_cores, _capacity_memory_bytes, _allocated_cpu_cores,
//   _allocated_memory_bytes, _pods, _vms, _in_maintenance, _connection_state{state},
//   _heartbeat_age_seconds — all labelled host, cluster, zone.
import { Gauge } from "prom-client";
import type { Metrics } from "../runtime/metrics.ts";
import { hostCapacity, type Inventory } from "../shared/placement/inventory.ts";
import { addResources } from "../shared/quantity.ts";
import type { Heartbeat } from "./heartbeat.ts";
import { connectionState } from "./status.ts";

const STATES = ["connected", "notResponding", "disconnected"] as const;

export function registerHostMetrics(metrics: Metrics, inv: Inventory, heartbeat: Heartbeat): void {
  const labelNames = ["host", "cluster", "zone"] as const;
  const g = (name: string, help: string, extra: readonly string[] = [], collect?: () => void) =>
    new Gauge({ name, help, labelNames: [...labelNames, ...extra], registers: [metrics.registry], collect });
  // One collect fills every gauge, so a scrape walks the hosts once.
  const capCpu = g("pacific_esxihost_capacity_cpu_cores", "CPU cores of the ESXi host", [], () => collect());
  const capMem = g("pacific_esxihost_capacity_memory_bytes", "Memory of the ESXi host");
  const allocCpu = g(
    "pacific_esxihost_allocated_cpu_cores",
    "CPU requested by pods and reserved by VMs on the host",
  );
  const allocMem = g(
    "pacific_esxihost_allocated_memory_bytes",
    "Memory requested by pods and reserved by VMs on the host",
  );
  const pods = g("pacific_esxihost_pods", "Pods on the host (not Succeeded or Failed)");
  const vms = g("pacific_esxihost_vms", "VirtualMachines placed on the host");
  const maint = g("pacific_esxihost_in_maintenance", "1 when the host is in (or entering) maintenance mode");
  const state = g("pacific_esxihost_connection_state", "1 for the host's current connection state", [
    "state",
  ]);
  const age = g(
    "pacific_esxihost_heartbeat_age_seconds",
    "Seconds since the Spherelet last renewed the host's Lease",
  );

  const collect = () => {
    for (const gauge of [capCpu, capMem, allocCpu, allocMem, pods, vms, maint, state, age]) gauge.reset();
    const now = Date.now();
    for (const h of inv.hosts.store.list()) {
      const name = h.metadata.name ?? "";
      const l = { host: name, cluster: h.spec.clusterName, zone: h.spec.zone };
      const cap = hostCapacity(h);
      const reserved = inv.reservedOn(name);
      const alloc = addResources(inv.podRequestsOn(name), reserved.resources);
      capCpu.set(l, cap.cpuMilli / 1000);
      capMem.set(l, cap.memory);
      allocCpu.set(l, alloc.cpuMilli / 1000);
      allocMem.set(l, alloc.memory);
      pods.set(l, inv.activePodsOn(name).length);
      vms.set(l, reserved.objects);
      maint.set(l, h.spec.maintenanceMode ? 1 : 0);
      const current = connectionState(h, inv.nodes.store.get(name));
      for (const s of STATES) state.set({ ...l, state: s }, s === current ? 1 : 0);
      const last = heartbeat.lastRenew.get(name);
      if (last) age.set(l, (now - last.getTime()) / 1000);
    }
  };
}
