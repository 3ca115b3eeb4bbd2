// One series per cluster: 1 for its current phase (the PrometheusRule's TKC-failed alert reads it).
import { Gauge } from "prom-client";
import type { TanzuKubernetesCluster } from "../../api/run/tanzukubernetescluster.ts";
import type { Metrics } from "../../runtime/metrics.ts";
import type { Store } from "../../runtime/store.ts";

const PHASES = ["creating", "running", "updating", "deleting", "failed"] as const;

export function registerPhaseGauge(metrics: Metrics, tkcs: Store<TanzuKubernetesCluster>): void {
  const phase: Gauge = new Gauge({
    name: "pacific_tanzukubernetescluster_phase",
    help: "1 for the TanzuKubernetesCluster's current phase",
    labelNames: ["namespace", "name", "phase"],
    registers: [metrics.registry],
    collect() {
      phase.reset();
      for (const t of tkcs.list())
        for (const p of PHASES)
          phase.set(
            { namespace: t.metadata.namespace, name: t.metadata.name, phase: p },
            t.status?.phase === p ? 1 : 0,
          );
    },
  });
}
