import { describe, expect, it } from "vitest";
import { delayWithJitter, loadSettings, parseDuration, stableFraction } from "./settings.ts";

describe("settings", () => {
  it("parses durations", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("2")).toBe(2000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(() => parseDuration("soon")).toThrow(/not a duration/);
    expect(() => parseDuration("5x")).toThrow(/not a duration/);
  });
  it("loads from the environment over defaults", () => {
    const s = loadSettings({ PACIFIC_POD_START_DELAY: "2s", PACIFIC_LEASE_DURATION: "40s" });
    expect(s.podStartDelayMs).toBe(2000);
    expect(s.leaseDurationSeconds).toBe(40);
    expect(s.heartbeatIntervalMs).toBe(10_000);
  });
  it("jitters deterministically per seed, within bounds", () => {
    expect(delayWithJitter(1000, 500, "uid-1")).toBe(delayWithJitter(1000, 500, "uid-1"));
    const values = Array.from({ length: 200 }, (_, i) => delayWithJitter(1000, 500, `uid-${i}`));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...values)).toBeLessThan(1500);
    expect(new Set(values).size).toBeGreaterThan(100);
    expect(stableFraction("a")).not.toBe(stableFraction("b"));
  });
});
