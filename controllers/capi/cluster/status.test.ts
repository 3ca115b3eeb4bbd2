// The Cluster's control-plane conditions from its KubeadmControlPlane: initialized and ready as the
// KCP reports them, and a False Available (a guest API server that stopped answering) mirrored.
import { describe, expect, it } from "vitest";
import type { Cluster } from "../../api/cluster/cluster.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import { clusterStatus } from "./status.ts";

const cluster = {
  metadata: { name: "c1", namespace: "dev", generation: 1 },
  spec: { controlPlaneEndpoint: { host: "127.0.100.1", port: 6443 } },
} as unknown as Cluster;
const kcp = (status: Record<string, unknown>) =>
  ({
    metadata: { name: "c1-control-plane", namespace: "dev" },
    spec: {},
    status,
  }) as unknown as KubeadmControlPlane;
const t = "2026-01-01T00:00:00Z";
const cond = (s: ReturnType<typeof clusterStatus>, type: string) =>
  s.conditions?.find((c) => c.type === type);

describe("Cluster status from its control plane", () => {
  it("a guest that stopped answering: initialized stays True, ControlPlaneReady mirrors Available", () => {
    const s = clusterStatus(cluster, {
      kcp: kcp({
        initialized: true,
        ready: false,
        conditions: [
          { type: "Ready", status: "True", lastTransitionTime: t },
          {
            type: "Available",
            status: "False",
            severity: "Warning",
            reason: "APIServerNotReady",
            message: "the guest API server does not answer /readyz",
            lastTransitionTime: t,
          },
        ],
      }),
      mds: [],
    });
    expect(cond(s, "ControlPlaneInitialized")?.status).toBe("True");
    expect(cond(s, "ControlPlaneReady")).toMatchObject({
      status: "False",
      severity: "Warning",
      reason: "APIServerNotReady",
      message: "the guest API server does not answer /readyz",
    });
    expect(s.controlPlaneReady).toBe(false);
  });

  it("ready: True", () => {
    const s = clusterStatus(cluster, {
      kcp: kcp({
        initialized: true,
        ready: true,
        conditions: [{ type: "Available", status: "True", lastTransitionTime: t }],
      }),
      mds: [],
    });
    expect(cond(s, "ControlPlaneReady")?.status).toBe("True");
    expect(cond(s, "ControlPlaneInitialized")?.status).toBe("True");
  });
});
