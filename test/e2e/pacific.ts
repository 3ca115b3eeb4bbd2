// Runs the Pacific manager (every controller) inside the test process, against KUBECONFIG, with a
// token of the chart's own ServiceAccount: the chart's RBAC is what the suites exercise.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { expect } from "vitest";
import { defaultConfig, type PacificConfig } from "../../controllers/config.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import { newLogger } from "../../controllers/runtime/log.ts";
import { Manager } from "../../controllers/runtime/manager.ts";
import { defaultSettings, type SimulationSettings } from "../../controllers/settings.ts";
import { setupControllers } from "../../controllers/setup.ts";
import type { Inventory } from "../../controllers/shared/placement/inventory.ts";
import { root } from "./kube.ts";

/** A kubeconfig holding a fresh TokenRequest token of the chart's ServiceAccount (hack/manager.sh). */
export function managerKubeConfig(): k8s.KubeConfig {
  const file = join(mkdtempSync(join(tmpdir(), "pacific-sa-")), "kubeconfig");
  execFileSync("bash", [join(root, "hack", "manager.sh"), "kubeconfig", file], { stdio: "pipe" });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/**
 * `config` overrides parts of the manager's configuration (the registry suites give it the local
 * registry); `extra` adds to the manager before it starts (the UI suite mounts the web UI).
 */
export async function startPacific(
  settings: Partial<SimulationSettings> = {},
  config: Partial<Omit<PacificConfig, "settings">> = {},
  extra?: (mgr: Manager, inv: Inventory, config: PacificConfig) => void,
): Promise<Manager> {
  const mgr = new Manager({
    kubeConfig: managerKubeConfig(),
    name: "pacific-e2e",
    bindAddress: "127.0.0.1:0",
    logger: newLogger("pacific-e2e", process.env.LOG_LEVEL ?? "warn"),
    resyncMs: 60_000,
  });
  recordRefusals(mgr);
  const full: PacificConfig = { ...defaultConfig, ...config, settings: { ...defaultSettings, ...settings } };
  const inv = setupControllers(mgr, full);
  extra?.(mgr, inv, full);
  await mgr.start();
  await mgr.waitForCacheSync();
  return mgr;
}

const refusals = new WeakMap<Manager, string[]>();
const invalids = new WeakMap<Manager, string[]>();

/** Keeps the message of every request the API server refuses with 403, to tell RBAC from the rest. */
function recordRefusals(mgr: Manager): void {
  const seen: string[] = [];
  const invalid: string[] = [];
  refusals.set(mgr, seen);
  invalids.set(mgr, invalid);
  const request = mgr.client.request.bind(mgr.client);
  mgr.client.request = async <T>(...args: Parameters<typeof request>): Promise<T> => {
    try {
      return await request<T>(...args);
    } catch (e) {
      const s = apiStatus(e);
      if (s.code === 403) seen.push(`${args[0]} ${args[1]}: ${s.message}`);
      if (s.code === 422) invalid.push(`${args[0]} ${args[1]}: ${s.message}`);
      throw e;
    }
  };
}

/**
 * The chart's RBAC covered every request: no 403 that is an authorization denial. Other 403s are
 * admission's (a namespace another suite is deleting refuses new content, a quota refuses a pod) and
 * the controllers handle them.
 */
export async function expectNoForbidden(mgr: Manager): Promise<void> {
  const all = refusals.get(mgr) ?? [];
  if (all.length)
    console.info(`403s that are not RBAC denials (admission): ${JSON.stringify(all.slice(0, 5))}`);
  const denied = all.filter((m) =>
    / cannot (get|list|watch|create|update|patch|delete|deletecollection|bind|escalate) |can't set finalizers on/.test(
      m,
    ),
  );
  expect(
    denied,
    `denied by RBAC (charts/pacific/templates/rbac.yaml misses them); all 403s: ${JSON.stringify(all.slice(0, 10))}`,
  ).toEqual([]);
}

/** No write of the manager was refused as invalid (422): what it writes fits the installed schemas. */
export function expectNoInvalid(mgr: Manager): void {
  const all = invalids.get(mgr) ?? [];
  expect(all, `requests refused with 422 (${all.length}): ${JSON.stringify(all.slice(0, 10))}`).toEqual([]);
}
