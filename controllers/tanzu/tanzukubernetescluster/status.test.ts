// GuestControlPlaneReady: what it says for each runtime, and the version the guest reports.
import { describe, expect, it } from "vitest";
import { GuestAnnotations } from "../../api/contracts.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import type { TanzuKubernetesCluster } from "../../api/run/tanzukubernetescluster.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import { markControlPlaneReady, markGuestControlPlaneReady } from "./status.ts";

const tkc = (): TanzuKubernetesCluster =>
  ({ metadata: { name: "tkc-1", namespace: "dev" }, spec: { topology: {} } }) as TanzuKubernetesCluster;
const release = {
  metadata: { name: "v1.23.8---vmware.3-tkg.1" },
  spec: { version: "v1.23.8+vmware.3-tkg.1", kubernetes: { version: "v1.23.8+vmware.3" } },
} as unknown as TanzuKubernetesRelease;
const kcp = (annotations: Record<string, string>, initialized = false) =>
  ({
    metadata: { name: "tkc-1-control-plane", namespace: "dev", annotations },
    spec: {},
    status: { initialized },
  }) as unknown as KubeadmControlPlane;
const cond = (t: TanzuKubernetesCluster) =>
  t.status?.conditions?.find((c) => c.type === "GuestControlPlaneReady");

describe("GuestControlPlaneReady", () => {
  it("runtime none: False, NoGuestControlPlane, Info", () => {
    const t = tkc();
    markGuestControlPlaneReady(t, "none", undefined, release);
    expect(cond(t)).toMatchObject({ status: "False", severity: "Info", reason: "NoGuestControlPlane" });
    expect(cond(t)?.message).toContain("runtime none");
  });

  it("runtime local: waiting, then True naming the version the guest reports, then not running", () => {
    const t = tkc();
    markGuestControlPlaneReady(t, "local", undefined, release);
    expect(cond(t)).toMatchObject({
      status: "False",
      severity: "Info",
      reason: "GuestControlPlaneNotRunning",
    });
    markGuestControlPlaneReady(
      t,
      "local",
      kcp({ [GuestAnnotations.apiServerReady]: "True", [GuestAnnotations.apiServerVersion]: "v1.37.2" }),
      release,
    );
    expect(cond(t)).toMatchObject({ status: "True", reason: "VersionDiffers" });
    expect(cond(t)?.message).toBe(
      "the guest API server reports v1.37.2, not the release's v1.23.8+vmware.3: Pacific runs the Kubernetes it builds",
    );
    markGuestControlPlaneReady(
      t,
      "local",
      kcp({ [GuestAnnotations.apiServerReady]: "False" }, true),
      release,
    );
    expect(cond(t)).toMatchObject({
      status: "False",
      severity: "Warning",
      reason: "GuestControlPlaneNotRunning",
    });
  });

  it("runtime pods: follows the guest's /readyz as local does (here nothing answers)", () => {
    const t = tkc();
    markGuestControlPlaneReady(t, "pods", kcp({ [GuestAnnotations.apiServerReady]: "False" }), release);
    expect(cond(t)).toMatchObject({ status: "False", reason: "GuestControlPlaneNotRunning" });
    markGuestControlPlaneReady(
      t,
      "pods",
      kcp({ [GuestAnnotations.apiServerReady]: "True", [GuestAnnotations.apiServerVersion]: "v1.23.8" }),
      release,
    );
    expect(cond(t)).toMatchObject({ status: "True", reason: "Ready" });
  });

  it("the same Kubernetes version: True, Ready, no message", () => {
    const t = tkc();
    const same = kcp({
      [GuestAnnotations.apiServerReady]: "True",
      [GuestAnnotations.apiServerVersion]: "v1.23.8",
    });
    markGuestControlPlaneReady(t, "local", same, release);
    expect(cond(t)).toMatchObject({ status: "True", reason: "Ready" });
    expect(cond(t)?.message).toBeUndefined();
  });
});

describe("ControlPlaneReady", () => {
  const t = "2026-01-01T00:00:00Z";
  it("mirrors a False Available of the KCP (a guest that does not answer), else its Ready", () => {
    const obj = tkc();
    const k = kcp({}, true);
    k.status = {
      ...k.status,
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
    } as KubeadmControlPlane["status"];
    markControlPlaneReady(obj, k);
    expect(obj.status?.conditions?.find((c) => c.type === "ControlPlaneReady")).toMatchObject({
      status: "False",
      severity: "Warning",
      reason: "APIServerNotReady",
    });
    k.status = {
      ...k.status,
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: t }],
    } as KubeadmControlPlane["status"];
    markControlPlaneReady(obj, k);
    expect(obj.status?.conditions?.find((c) => c.type === "ControlPlaneReady")?.status).toBe("True");
  });
});
