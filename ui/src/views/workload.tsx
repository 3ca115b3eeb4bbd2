// Workload Management: each Supervisor Namespace with its limits and usage, permissions, storage
// policies and VM classes, and in it its Tanzu Kubernetes clusters, VMs, vSphere Pods and VIPs.
import { formatBytes, formatCores, type NamespaceRow } from "../../../controllers/ui/model.ts";
import type { Act } from "../main.tsx";
import { type Indexes, mayIn, type RowStore } from "../store.ts";
import { PowerButton } from "./hosts.tsx";
import { LimitBar, Phase } from "./parts.tsx";

const noRows = { vpods: [], vms: [], tkcs: [], vips: [], machines: [] };

function NamespaceCard({
  name,
  row,
  ix,
  vmPower,
  act,
}: {
  name: string;
  row: NamespaceRow | undefined;
  ix: Indexes;
  vmPower: string[];
  act: Act;
}) {
  const n = ix.byNs.get(name) ?? noRows;
  const standalone = n.vms.filter((v) => !v.cluster);
  return (
    <article class="namespace" data-namespace={name}>
      <h3>
        <span class="icon">Namespace</span> {name} {row && <Phase phase={row.configStatus} />}
      </h3>
      {row && (
        <div class="grid">
          <div>
            <h4>Capacity and usage</h4>
            <LimitBar label="CPU" used={row.usage.cpu} limit={row.limits.cpu} format={formatCores} />
            <LimitBar label="Memory" used={row.usage.memory} limit={row.limits.memory} format={formatBytes} />
            <LimitBar
              label="Storage"
              used={row.usage.storage}
              limit={row.limits.storage}
              format={formatBytes}
            />
          </div>
          <div>
            <h4>Permissions</h4>
            <ul class="plain">
              {row.access.map((a) => (
                <li key={`${a.subjectType}/${a.subject}`}>
                  {a.subjectType} <b>{a.subject}</b>: {a.role}
                </li>
              ))}
              {row.access.length === 0 && <li class="muted">none</li>}
            </ul>
          </div>
          <div>
            <h4>Storage policies</h4>
            <ul class="plain">
              {row.storagePolicies.map((p) => (
                <li key={p.name}>
                  {p.name}: {formatBytes(p.used)} of {p.limit ? formatBytes(p.limit) : "no limit"}
                </li>
              ))}
              {row.storagePolicies.length === 0 && <li class="muted">none</li>}
            </ul>
            <h4>VM classes</h4>
            <p>{row.vmClasses.join(", ") || <span class="muted">none</span>}</p>
          </div>
        </div>
      )}
      <h4>Tanzu Kubernetes clusters</h4>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Phase</th>
            <th>Version</th>
            <th>Control plane</th>
            <th>Workers</th>
            <th>Nodes ready</th>
          </tr>
        </thead>
        <tbody>
          {n.tkcs.map((t) => (
            <tr key={t.id} data-tkc={t.name}>
              <td>
                <a href={`#/cluster/${t.ns}/${t.name}`}>{t.name}</a>
              </td>
              <td>
                <Phase phase={t.phase} />
              </td>
              <td>{t.version}</td>
              <td>{t.controlPlane.replicas}</td>
              <td>{t.pools.reduce((s, p) => s + p.replicas, 0)}</td>
              <td>
                {t.nodesReady}/{t.nodesTotal}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {n.tkcs.length === 0 && <p class="muted">none</p>}
      <div class="grid">
        <div>
          <h4>Virtual machines</h4>
          <ul class="plain">
            {standalone.map((vm) => (
              <li key={vm.id} data-vm={`${vm.ns}/${vm.name}`}>
                {vm.name} <span class="muted">{vm.className}</span>{" "}
                <Phase phase={vm.observedPower ?? vm.powerState} /> <span class="muted">{vm.host}</span>
                {mayIn(vmPower, vm.ns) && <PowerButton vm={vm} act={act} />}
              </li>
            ))}
            {standalone.length === 0 && <li class="muted">none outside guest clusters</li>}
          </ul>
        </div>
        <div>
          <h4>vSphere Pods</h4>
          <ul class="plain">
            {n.vpods.map((p) => (
              <li key={p.id} data-vpod={`${p.ns}/${p.name}`}>
                {p.name} <Phase phase={p.phase} /> <span class="muted">{p.host}</span>{" "}
                <span class="muted">{p.ip}</span>
              </li>
            ))}
            {n.vpods.length === 0 && <li class="muted">none</li>}
          </ul>
        </div>
        <div>
          <h4>Load balancer VIPs</h4>
          <ul class="plain">
            {n.vips.map((v) => (
              <li key={v.id}>
                {v.name} <b>{v.vip ?? "pending"}</b> <span class="muted">{v.ports}</span>
              </li>
            ))}
            {n.vips.length === 0 && <li class="muted">none</li>}
          </ul>
        </div>
      </div>
    </article>
  );
}

export function WorkloadView({ store, act }: { store: RowStore; act: Act }) {
  const ix = store.ix;
  const names = new Set([...ix.namespaces.map((n) => n.name), ...ix.byNs.keys()]);
  const rows = new Map(ix.namespaces.map((n) => [n.name, n]));
  return (
    <section class="workload">
      <div class="toolbar">
        <h2>Workload Management</h2>
        <span class="muted">{names.size} namespaces</span>
      </div>
      {names.size === 0 && <p class="empty">No namespace you may see.</p>}
      {[...names].sort().map((name) => (
        <NamespaceCard
          key={name}
          name={name}
          row={rows.get(name)}
          ix={ix}
          vmPower={store.abilities.vmPower}
          act={act}
        />
      ))}
    </section>
  );
}
