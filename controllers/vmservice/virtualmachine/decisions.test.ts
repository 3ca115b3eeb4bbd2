import { describe, expect, it } from "vitest";
import type { VirtualMachine } from "../../api/vmoperator/virtualmachine.ts";
import { storageAllowed } from "../../shared/storage.ts";
import { defaultCatalogue } from "../../shared/vmclasses.ts";
import {
  bootDelayMs,
  holdsReservation,
  identities,
  moveFor,
  powerFor,
  reservationOf,
  wantedPower,
} from "./decisions.ts";

const vm = (
  status: VirtualMachine["status"] = {},
  powerState: "PoweredOn" | "PoweredOff" = "PoweredOn",
): VirtualMachine =>
  ({
    metadata: { name: "vm", namespace: "ns", uid: "uid-1" },
    spec: { className: "guaranteed-small", powerState },
    status,
  }) as VirtualMachine;

describe("VM Service decisions", () => {
  it("takes an absent spec.powerState as PoweredOn (upstream's webhook default; its CRD has none)", () => {
    const bare = vm({ host: "h" });
    delete (bare.spec as { powerState?: string }).powerState;
    expect(wantedPower(bare)).toBe("PoweredOn");
    expect(holdsReservation(bare)).toBe(true);
    const p = powerFor(bare, "PoweredOn", undefined, false, 0, Date.now());
    expect(p).toMatchObject({ powerState: "PoweredOn", verdict: { status: "True", reason: "PoweredOn" } });
  });

  it("reserves what guaranteed classes request and nothing for best-effort", () => {
    expect(reservationOf(defaultCatalogue["guaranteed-small"])).toEqual({
      cpuMilli: 2000,
      memory: 4 * 2 ** 30,
      pods: 0,
    });
    expect(reservationOf(defaultCatalogue["best-effort-small"])).toEqual({ cpuMilli: 0, memory: 0, pods: 0 });
  });

  it("holds a reservation only when placed and meant to run", () => {
    expect(holdsReservation(vm({ host: "h" }))).toBe(true);
    expect(holdsReservation(vm({ host: "h" }, "PoweredOff"))).toBe(false);
    expect(holdsReservation(vm({}))).toBe(false);
  });

  it("moves: place, stay, vMotion off maintenance, HA restart off a failure", () => {
    expect(moveFor(vm({}), "ok")).toEqual({ kind: "place" });
    expect(moveFor(vm({ host: "h" }), "ok")).toEqual({ kind: "stay" });
    expect(moveFor(vm({ host: "h" }), "maintenance")).toEqual({ kind: "migrate", from: "h" });
    expect(moveFor(vm({ host: "h" }), "failed")).toEqual({ kind: "restart", from: "h" });
    expect(moveFor(vm({ host: "h" }), "gone")).toEqual({ kind: "place" });
  });

  it("boot delay from the annotation over the settings, with stable jitter", () => {
    const v = vm();
    expect(bootDelayMs(v, 5000, 1000, 0.5)).toBe(5500);
    v.metadata.annotations = { "vsphere.pacific.dev/vm-boot-delay": "1s" };
    expect(bootDelayMs(v, 5000, 0, 0)).toBe(1000);
  });

  it("storage must be bound to the namespace; identities are stable", () => {
    expect(storageAllowed("gold", { "vsphere.pacific.dev/storage-classes": "silver,gold" })).toBe(true);
    expect(storageAllowed("gold", {})).toBe(false);
    expect(storageAllowed(undefined, {})).toBe(true);
    expect(identities(vm())).toEqual(identities(vm()));
    expect(identities(vm()).biosUUID).toMatch(/^[0-9a-f]{8}-/);
  });
});
