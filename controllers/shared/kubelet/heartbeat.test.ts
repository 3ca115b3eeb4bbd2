// The shared Lease heartbeat: a live node's Lease is created once, then renewed each interval; a
// node that leaves the live set is renewed no more.
import type { V1Node } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { newLogger } from "../../runtime/log.ts";
import { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { LeaseHeartbeat } from "./heartbeat.ts";

describe("LeaseHeartbeat", () => {
  it("creates, renews each interval, and stops for a node no longer live", async () => {
    const client = new FakeClient();
    let live: V1Node[] = [{ metadata: { name: "n1", uid: "u1" } }];
    const hb = new LeaseHeartbeat(
      client,
      () => live,
      { heartbeatIntervalMs: 200, leaseDurationSeconds: 1 },
      newLogger("test", "silent"),
    );
    hb.start();
    hb.renewSoon("n1");
    await new Promise((r) => setTimeout(r, 750));
    const writes = client.writes("Lease").map((a) => a.verb);
    expect(writes[0]).toBe("create");
    expect(writes.filter((v) => v === "patch").length).toBeGreaterThanOrEqual(2);
    live = [];
    await new Promise((r) => setTimeout(r, 150));
    const n = client.writes("Lease").length;
    await new Promise((r) => setTimeout(r, 450));
    expect(client.writes("Lease").length).toBe(n);
    await hb.stop();
  });
});
