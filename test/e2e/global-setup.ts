// e2e runs against a real API server: KUBECONFIG must point at one (npm test starts the local one).
// The chart is installed first, so every suite works with the chart's CRDs, policies and RBAC.
import { installChart, kubectl } from "./tools.ts";

export default function setup(): void {
  if (!process.env.KUBECONFIG) {
    throw new Error(
      "e2e tests need a real cluster: set KUBECONFIG, or run `npm test`, which starts the local control plane",
    );
  }
  installChart();
  kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd",
    "-l",
    "app.kubernetes.io/part-of=pacific",
  ]);
}
