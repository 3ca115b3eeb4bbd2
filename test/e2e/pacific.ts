// Runs the Pacific manager (every controller) inside the test process, against KUBECONFIG.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../controllers/config.ts";
import { newLogger } from "../../controllers/runtime/log.ts";
import { Manager } from "../../controllers/runtime/manager.ts";
import { defaultSettings, type SimulationSettings } from "../../controllers/settings.ts";
import { setupControllers } from "../../controllers/setup.ts";
import { applyCrds, kubeConfig, root } from "./kube.ts";

export async function startPacific(settings: Partial<SimulationSettings> = {}): Promise<Manager> {
  const kc = kubeConfig();
  await applyCrds(
    kc,
    readdirSync(join(root, "crds")).filter((f) => f.endsWith(".yaml")),
  );
  const mgr = new Manager({
    kubeConfig: kc,
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
