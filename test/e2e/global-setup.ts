// e2e runs against a real API server: KUBECONFIG must point at one (npm test starts the local one).
export default function setup(): void {
  if (!process.env.KUBECONFIG) {
    throw new Error(
      "e2e tests need a real cluster: set KUBECONFIG, or run `npm test`, which starts the local control plane",
    );
  }
}
