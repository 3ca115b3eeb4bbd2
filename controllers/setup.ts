// Registers every Pacific controller with the manager. One line per controller.
import type { Manager } from "./runtime/manager.ts";

export function setupControllers(_mgr: Manager): void {}
