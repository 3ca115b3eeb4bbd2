// Hosts and Clusters: vSphere clusters → ESXi hosts (state, CPU and memory bars), and under each
// host its VMs and pods. Large inventories start collapsed; each host opens on a click.
import { Component } from "preact";
import { useCallback, useState } from "preact/hooks";
import {
  formatBytes,
  formatCores,
  type HostRow,
  type PodRow,
  type VMRow,
} from "../../../controllers/ui/model.ts";
import type { Act } from "../main.tsx";
import { mayIn, type RowStore } from "../store.ts";
import { Bar, HostBadge, Phase, sameProps } from "./parts.tsx";

/** Up to this many hosts, every host starts expanded. */
const EXPAND_UP_TO = 50;
/** Hosts rendered at a time (as the vSphere Client pages its lists); the filter finds the others. */
const PAGE = 200;

interface HostProps {
  host: HostRow;
  vms: VMRow[];
  pods: PodRow[];
  open: boolean;
  toggle: (name: string) => void;
  canMaintain: boolean;
  vmPower: string[];
  act: Act;
}

class HostItem extends Component<HostProps> {
  override shouldComponentUpdate(next: HostProps): boolean {
    return !sameProps(this.props, next);
  }
  override render() {
    const { host: h, vms, pods, open, toggle, canMaintain, vmPower, act } = this.props;
    return (
      <li class={`host state-${h.state}`} data-host={h.name} data-state={h.state}>
        <div class="host-head">
          <button type="button" class="twisty" onClick={() => toggle(h.name)} aria-expanded={open}>
            {open ? "▾" : "▸"}
          </button>
          <span class="host-name">{h.name}</span>
          <HostBadge state={h.state} />
          <span class="muted">{h.zone}</span>
          <Bar label="CPU" u={h.cpu} format={formatCores} />
          <Bar label="Memory" u={h.memory} format={formatBytes} />
          <span class="counts">
            {h.vmCount} VMs · {h.podCount}/{h.podCapacity} pods
          </span>
          {canMaintain && (
            <button
              type="button"
              class="action"
              onClick={() => act({ action: "maintenance", host: h.name, enabled: !h.maintenanceMode })}
            >
              {h.maintenanceMode ? "Exit maintenance mode" : "Enter maintenance mode"}
            </button>
          )}
        </div>
        {open && (
          <ul class="children">
            {vms.map((vm) => (
              <li key={vm.id} class="vm" data-vm={`${vm.ns}/${vm.name}`}>
                <span class="icon">VM</span>
                <span>{vm.name}</span>
                <span class="muted">{vm.ns}</span>
                <span class="muted">{vm.className}</span>
                <Phase phase={vm.observedPower ?? vm.powerState} />
                {vm.ip && <span class="muted">{vm.ip}</span>}
                {mayIn(vmPower, vm.ns) && <PowerButton vm={vm} act={act} />}
              </li>
            ))}
            {pods.map((p) => (
              <li key={p.id} class="pod" data-pod={`${p.ns}/${p.name}`}>
                <span class="icon">{p.vspherePod ? "vPod" : "Pod"}</span>
                <span>{p.vspherePod ?? p.name}</span>
                <span class="muted">{p.ns}</span>
                <Phase phase={p.phase} />
              </li>
            ))}
            {vms.length === 0 && pods.length === 0 && <li class="muted">No VMs or pods on this host.</li>}
          </ul>
        )}
      </li>
    );
  }
}

export function PowerButton({ vm, act }: { vm: VMRow; act: Act }) {
  const on = vm.powerState === "PoweredOn";
  return (
    <button
      type="button"
      class="action small"
      onClick={() =>
        act({ action: "power", namespace: vm.ns, vm: vm.name, powerState: on ? "PoweredOff" : "PoweredOn" })
      }
    >
      {on ? "Power off" : "Power on"}
    </button>
  );
}

export function HostsView({ store, act }: { store: RowStore; act: Act }) {
  const ix = store.ix;
  const [toggled, setToggled] = useState<ReadonlySet<string>>(new Set());
  const [filter, setFilter] = useState("");
  const [limit, setLimit] = useState(PAGE);
  const expandAll = ix.hosts.length <= EXPAND_UP_TO;
  const toggle = useCallback(
    (name: string) =>
      setToggled((t) => {
        const n = new Set(t);
        if (n.has(name)) n.delete(name);
        else n.add(name);
        return n;
      }),
    [],
  );
  const clusters = new Map<string, HostRow[]>();
  const matching = filter ? ix.hosts.filter((h) => h.name.includes(filter)) : ix.hosts;
  // Cluster by cluster, so a page holds whole clusters first.
  const ordered = [...matching].sort(
    (a, b) => a.cluster.localeCompare(b.cluster) || a.name.localeCompare(b.name),
  );
  for (const h of ordered.slice(0, limit)) {
    const l = clusters.get(h.cluster);
    if (l) l.push(h);
    else clusters.set(h.cluster, [h]);
  }
  const none: never[] = [];
  return (
    <section class="hosts">
      <div class="toolbar">
        <h2>Hosts and Clusters</h2>
        <input
          type="search"
          placeholder="Filter hosts"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <span class="muted">
          {ix.hosts.length} hosts · {[...ix.podsByHost.values()].reduce((n, l) => n + l.length, 0)} pods ·{" "}
          {[...ix.vmsByHost.values()].reduce((n, l) => n + l.length, 0)} VMs
        </span>
      </div>
      {ix.hosts.length === 0 && <p class="empty">No ESXi hosts.</p>}
      {[...clusters].map(([cluster, hosts]) => (
        <div key={cluster} class="cluster" data-cluster={cluster}>
          <h3>
            <span class="icon">Cluster</span> {cluster}{" "}
            <span class="muted">
              {hosts.length} hosts, {hosts.filter((h) => h.state === "connected").length} connected
            </span>
          </h3>
          <ul class="host-list">
            {hosts.map((h) => (
              <HostItem
                key={h.id}
                host={h}
                vms={ix.vmsByHost.get(h.name) ?? none}
                pods={ix.podsByHost.get(h.name) ?? none}
                open={expandAll !== toggled.has(h.name)}
                toggle={toggle}
                canMaintain={store.abilities.maintenance}
                vmPower={store.abilities.vmPower}
                act={act}
              />
            ))}
          </ul>
        </div>
      ))}
      {ordered.length > limit && (
        <button type="button" class="more" onClick={() => setLimit((l) => l + PAGE)}>
          Show {Math.min(PAGE, ordered.length - limit)} more hosts ({ordered.length - limit} not shown)
        </button>
      )}
    </section>
  );
}
