import { describe, expect, it } from "vitest";
import { bytes, cpuMilli, formatBytes, formatCpu, parseQuantity, podRequests } from "./quantity.ts";

describe("quantities", () => {
  it("parses decimal, binary and exponent forms", () => {
    expect(parseQuantity("1Gi")).toBe(2 ** 30);
    expect(parseQuantity("1G")).toBe(1e9);
    expect(parseQuantity("1e3")).toBe(1000);
    expect(parseQuantity(32)).toBe(32);
    expect(parseQuantity("0.5")).toBe(0.5);
  });
  it("converts CPU to millicores, rounding up", () => {
    expect(cpuMilli("1500m")).toBe(1500);
    expect(cpuMilli("0.1")).toBe(100);
    expect(cpuMilli(32)).toBe(32000);
    expect(cpuMilli("1.0001")).toBe(1001);
    expect(cpuMilli(undefined)).toBe(0);
  });
  it("rejects what is not a quantity", () => {
    expect(() => parseQuantity("ten")).toThrow(/not a quantity/);
    expect(() => parseQuantity("1GB")).toThrow(/not a quantity/);
  });
  it("formats back", () => {
    expect(formatCpu(4000)).toBe("4");
    expect(formatCpu(1500)).toBe("1500m");
    expect(formatBytes(64 * 2 ** 30)).toBe("64Gi");
    expect(formatBytes(1536 * 2 ** 20)).toBe("1536Mi");
    expect(formatBytes(1000)).toBe("1000");
    expect(bytes("1Mi")).toBe(1048576);
  });
});

describe("podRequests", () => {
  it("sums containers, takes the largest init container when larger, adds overhead", () => {
    expect(
      podRequests({
        containers: [
          { resources: { requests: { cpu: "250m", memory: "64Mi" } } },
          { resources: { limits: { cpu: "1" } } },
        ],
        initContainers: [{ resources: { requests: { cpu: "2", memory: "1Mi" } } }],
        overhead: { cpu: "100m" },
      }),
    ).toEqual({ cpuMilli: 2100, memory: 64 * 2 ** 20, pods: 1 });
  });
  it("counts a pod without requests as one slot", () => {
    expect(podRequests({ containers: [{}] })).toEqual({ cpuMilli: 0, memory: 0, pods: 1 });
  });
});
