// Runs the Pacific manager (every controller) inside the test process, against KUBECONFIG, with a
// token of the chart's own ServiceAccount: the chart's RBAC is what the suites exercise.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { expect } from "vitest";
import { defaultConfig } from "../../controllers/config.ts";
import { newLogger } from "../../controllers/runtime/log.ts";
import { Manager } from "../../controllers/runtime/manager.ts";
import { defaultSettings, type SimulationSettings } from "../../controllers/settings.ts";
import { setupControllers } from "../../controllers/setup.ts";
import { root } from "./kube.ts";

/** A kubeconfig holding a fresh TokenRequest token of the chart's ServiceAccount (hack/manager.sh). */
export function managerKubeConfig(): k8s.KubeConfig {
  const file = join(mkdtempSync(join(tmpdir(), "pacific-sa-")), "kubeconfig");
  execFileSync("bash", [join(root, "hack", "manager.sh"), "kubeconfig", file], { stdio: "pipe" });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export async function startPacific(settings: Partial<SimulationSettings> = {}): Promise<Manager> {
  const mgr = new Manager({
    kubeConfig: managerKubeConfig(),
    name: "pacific-e2e",
    bindAddress: "127.0.0.1:0",
    logger: newLogger("pacific-e2e", process.env.LOG_LEVEL ?? "warn"),
    resyncMs: 60_000,
  });
  setupControllers(mgr, { ...defaultConfig, settings: { ...defaultSettings, ...settings } });
  await mgr.start();
  await mgr.waitForCacheSync();
  return mgr;
}

/** The manager was never refused by the API server: the chart's RBAC covers all it did. */
export async function expectNoForbidden(mgr: Manager): Promise<void> {
  const counter =
    (await mgr.metrics.registry.getSingleMetric("rest_client_requests_total")?.get())?.values ?? [];
  const forbidden = counter.filter((v) => v.labels.code === "403" && v.value > 0);
  expect(forbidden, "requests refused with 403 (missing RBAC in charts/pacific/templates/rbac.yaml)").toEqual(
    [],
  );
}
