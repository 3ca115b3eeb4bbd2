// Registers every Pacific controller with the manager. One line per controller.

import { defaultConfig, type PacificConfig } from "./config.ts";
import { setupESXiHostController } from "./esxihost/controller.ts";
import { Heartbeat } from "./esxihost/heartbeat.ts";
import { registerHostMetrics } from "./esxihost/metrics.ts";
import { Inventory } from "./placement/inventory.ts";
import type { Manager } from "./runtime/manager.ts";
import { setupSpherelet } from "./spherelet/controller.ts";
import { setupCns } from "./storage/cns.ts";
import { setupStorageClassBindingController } from "./storage/storageclassbinding.ts";
import { setupSupervisorNamespaceController } from "./supervisornamespace/controller.ts";
import { setupTanzu } from "./tkc/setup.ts";
import { setupVMService } from "./vmservice/setup.ts";
import { setupVSpherePodController } from "./vspherepod/controller.ts";

export function setupControllers(mgr: Manager, config: PacificConfig = defaultConfig): Inventory {
  const { settings } = config;
  const inv = new Inventory(mgr);
  const heartbeat = new Heartbeat(mgr.client, inv, settings, mgr.log.child({ component: "heartbeat" }));
  mgr.addRunnable(heartbeat);
  registerHostMetrics(mgr.metrics, inv, heartbeat);
  // Before the host controller: it watches what the VM Service reserves on hosts.
  if (config.apis.vmOperator) setupVMService(mgr, inv, settings);
  setupESXiHostController(mgr, inv, heartbeat, settings);
  setupSpherelet(mgr, inv, settings);
  setupVSpherePodController(mgr, inv);
  setupSupervisorNamespaceController(mgr, config.vmClasses, config.apis.vmOperator);
  setupStorageClassBindingController(mgr);
  setupCns(mgr, settings.datastoreCapacity);
  // TKCs need the VM Service (their machines are VMs), Cluster API and the TKC APIs.
  if (config.apis.vmOperator && config.apis.clusterAPI && config.apis.tkc) setupTanzu(mgr, config.releases);
  return inv;
}
