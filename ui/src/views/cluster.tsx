// A guest cluster's page: its control plane and node pools, the Machines and VMs behind them and
// the ESXi host each VM runs on (the seed's Figure 3). Node pools scale from here.
import { useEffect, useState } from "preact/hooks";
import type { MachineRow, NodePool, TkcRow } from "../../../controllers/ui/model.ts";
import type { Act } from "../main.tsx";
import { mayIn, type RowStore } from "../store.ts";
import { Phase } from "./parts.tsx";

function ScalePool({ tkc, pool, act }: { tkc: TkcRow; pool: NodePool; act: Act }) {
  const [n, setN] = useState(pool.replicas);
  useEffect(() => setN(pool.replicas), [pool.replicas]); // scaled elsewhere (kubectl): show it
  return (
    <span class="scale">
      <input
        type="number"
        min={0}
        max={1000}
        value={n}
        aria-label={`replicas of ${pool.name}`}
        onInput={(e) => setN(Number((e.target as HTMLInputElement).value))}
      />
      <button
        type="button"
        class="action small"
        onClick={() =>
          act({ action: "scale", namespace: tkc.ns, cluster: tkc.name, pool: pool.name, replicas: n })
        }
      >
        Scale
      </button>
    </span>
  );
}

export function ClusterPage({
  store,
  act,
  ns,
  name,
}: {
  store: RowStore;
  act: Act;
  ns: string;
  name: string;
}) {
  const ix = store.ix;
  const tkc = ix.rows.get(`tkc/${ns}/${name}`);
  if (tkc?.res !== "tanzukubernetesclusters")
    return <p class="empty">No Tanzu Kubernetes cluster {`${ns}/${name}`} that you may see.</p>;
  const n = ix.byNs.get(ns);
  const machines = (n?.machines ?? []).filter((m) => m.cluster === name);
  const vms = new Map((n?.vms ?? []).map((v) => [v.name, v]));
  const groups: [string, string, MachineRow[]][] = [
    ["control-plane", `Control plane (${tkc.controlPlane.replicas} × ${tkc.controlPlane.vmClass})`, []],
    ...tkc.pools.map((p): [string, string, MachineRow[]] => [p.name, `Node pool ${p.name}`, []]),
  ];
  for (const m of machines) {
    const g = groups.find(([role]) => role === m.role);
    if (g) g[2].push(m);
    else groups.push([m.role, m.role, [m]]);
  }
  const canScale = mayIn(store.abilities.scale, ns);
  return (
    <section class="guest-cluster" data-tkc={name}>
      <div class="toolbar">
        <h2>
          <a href="#/workload">Workload Management</a> › {ns} › {name}
        </h2>
        <Phase phase={tkc.phase} />
        <span class="muted">
          {tkc.version} · {tkc.nodesReady}/{tkc.nodesTotal} nodes ready
          {tkc.endpoint ? ` · API ${tkc.endpoint}` : ""}
        </span>
      </div>
      {groups.map(([role, title, ms]) => {
        const pool = tkc.pools.find((p) => p.name === role);
        return (
          <div key={role} class="pool" data-pool={role}>
            <h3>
              {title}
              {pool && (
                <span class="muted">
                  {" "}
                  {pool.replicas} × {pool.vmClass}
                </span>
              )}
              {pool && canScale && <ScalePool tkc={tkc} pool={pool} act={act} />}
            </h3>
            <table>
              <thead>
                <tr>
                  <th>Machine</th>
                  <th>Phase</th>
                  <th>Version</th>
                  <th>VM</th>
                  <th>Power</th>
                  <th>IP</th>
                  <th>ESXi host</th>
                </tr>
              </thead>
              <tbody>
                {ms.map((m) => {
                  const vm = m.vm ? vms.get(m.vm) : undefined;
                  return (
                    <tr key={m.id} data-machine={m.name}>
                      <td>{m.name}</td>
                      <td>
                        <Phase phase={m.phase} />
                      </td>
                      <td>{m.version}</td>
                      <td>{vm?.name ?? m.vm}</td>
                      <td>{vm && <Phase phase={vm.observedPower ?? vm.powerState} />}</td>
                      <td>{vm?.ip}</td>
                      <td data-testid="vm-host">{vm?.host ?? "—"}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {ms.length === 0 && <p class="muted">no machines yet</p>}
          </div>
        );
      })}
    </section>
  );
}
