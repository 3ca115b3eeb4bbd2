import { describe, expect, it } from "vitest";
import { configFromData, VM_CLASSES_KEY } from "./config.ts";
import { defaultSettings } from "./settings.ts";
import { defaultCatalogue } from "./shared/vmclasses.ts";

describe("configuration from the settings ConfigMap", () => {
  it("is the built-in defaults when there is no ConfigMap", () => {
    const c = configFromData(undefined);
    expect(c.settings).toEqual(defaultSettings);
    expect(c.vmClasses).toBe(defaultCatalogue);
  });

  it("reads durations and capacities by key; the environment wins over the ConfigMap", () => {
    const c = configFromData(
      { podStartDelay: "2s", vmBootDelay: "1m", datastoreCapacity: "5Ti,gold=1Ti" },
      { PACIFIC_POD_START_DELAY: "500ms" },
    );
    expect(c.settings.podStartDelayMs).toBe(500);
    expect(c.settings.vmBootDelayMs).toBe(60_000);
    expect(c.settings.datastoreCapacity).toBe("5Ti,gold=1Ti");
    expect(c.settings.heartbeatIntervalMs).toBe(defaultSettings.heartbeatIntervalMs);
  });

  it("rejects a malformed value naming its key", () => {
    expect(() => configFromData({ podStartDelay: "soon" })).toThrow(/setting podStartDelay: not a duration/);
    expect(() => configFromData({ datastoreCapacity: "lots" })).toThrow(
      /setting datastoreCapacity: not a capacity/,
    );
    expect(() => configFromData({ heartbeatInterval: "1m", leaseDuration: "40s" })).toThrow(
      /heartbeatInterval .* must be shorter than leaseDuration/,
    );
  });

  it("reads the VM class catalogue with upstream field names", () => {
    const c = configFromData({
      [VM_CLASSES_KEY]: [
        "gpu-large:",
        "  description: 8 vCPUs, 64Gi, one GPU",
        "  hardware: {cpus: 8, memory: 64Gi}",
        "  policies:",
        "    resources:",
        "      requests: {cpu: 8000m, memory: 64Gi}",
      ].join("\n"),
    });
    expect(Object.keys(c.vmClasses)).toEqual(["gpu-large"]);
    expect(c.vmClasses["gpu-large"]?.hardware).toEqual({ cpus: 8, memory: "64Gi" });
    expect(configFromData({ [VM_CLASSES_KEY]: "" }).vmClasses).toEqual({});
  });

  it("rejects a bad catalogue entry naming it", () => {
    expect(() => configFromData({ [VM_CLASSES_KEY]: "small:\n  hardware: {cpus: 0, memory: 4Gi}" })).toThrow(
      /vmClasses.small.hardware.cpus/,
    );
    expect(() => configFromData({ [VM_CLASSES_KEY]: "small:\n  hardware: {cpus: 2, memory: lots}" })).toThrow(
      /vmClasses.small.hardware.memory/,
    );
    expect(() =>
      configFromData({ [VM_CLASSES_KEY]: "Bad_Name:\n  hardware: {cpus: 2, memory: 2Gi}" }),
    ).toThrow(/not a valid object name/);
    expect(() => configFromData({ [VM_CLASSES_KEY]: "- a\n- b" })).toThrow(/expected a map/);
  });
});
