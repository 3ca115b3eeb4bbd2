// The reconcile kit against the in-memory client: what is sent, what is not, and how NotFound and
// Conflict end.
import { describe, expect, it } from "vitest";
import { deleteChild, ensureChild, replaceDiff } from "./children.ts";
import type { KubeObject } from "./client.ts";
import { conditionOf, markFalse, markReadySummary, markTrue, markUnknown } from "./conditions.ts";
import { ApiError, ignoreNotFound } from "./errors.ts";
import { ensureFinalizer, removeFinalizer } from "./finalizers.ts";
import { PatchHelper, patchStatus } from "./patchhelper.ts";
import type { ResourceType } from "./resource.ts";
import { FakeClient } from "./testing/fakeclient.ts";

type Widget = KubeObject & {
  spec: { size: number; labels?: Record<string, string> };
  status?: {
    phase?: string;
    extra?: Record<string, string>;
    conditions?: import("./conditions.ts").Condition[];
  };
};
const Widgets: ResourceType<Widget> = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};
const widget = (name = "w"): Widget => ({
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name, namespace: "ns" },
  spec: { size: 1 },
});

describe("PatchHelper", () => {
  it("sends metadata/spec and status as two patches, and nothing when nothing changed", async () => {
    const c = new FakeClient([Widgets, widget()]);
    const w = await c.get(Widgets, "w", "ns");
    const h = new PatchHelper(c, Widgets, w);
    expect(await h.patch()).toEqual(w);
    expect(c.actions).toHaveLength(0);
    h.obj.spec.size = 2;
    h.obj.status = { phase: "Ready" };
    await h.patch();
    expect(c.actions.map((a) => a.subresource ?? "main")).toEqual(["main", "status"]);
    expect(c.peek(Widgets, "w", "ns")?.status?.phase).toBe("Ready");
    expect(c.peek(Widgets, "w", "ns")?.spec.size).toBe(2);
  });

  it("nulls the keys that vanished", async () => {
    const seeded: Widget = { ...widget(), status: { extra: { a: "1", b: "2" } } };
    const c = new FakeClient([Widgets, seeded]);
    const w = await c.get(Widgets, "w", "ns");
    await patchStatus(c, Widgets, w, { extra: { a: "1" } });
    expect(c.actions[0]?.body).toEqual({ status: { extra: { b: null } } });
    expect(c.peek(Widgets, "w", "ns")?.status?.extra).toEqual({ a: "1" });
  });

  it("answers undefined, no failure, when the object is gone", async () => {
    const c = new FakeClient([Widgets, widget()]);
    const w = await c.get(Widgets, "w", "ns");
    await c.delete(Widgets, "w", "ns");
    expect(await patchStatus(c, Widgets, w, { phase: "Ready" })).toBeUndefined();
  });

  it("retries a finalizer change on conflict and keeps a finalizer someone else added", async () => {
    const c = new FakeClient([Widgets, widget()]);
    const w = await c.get(Widgets, "w", "ns");
    await c.patch(Widgets, "w", "ns", { metadata: { finalizers: ["other"] } }); // after our snapshot
    const got = await ensureFinalizer(c, Widgets, w, "mine");
    expect(got.metadata?.finalizers?.sort()).toEqual(["mine", "other"]);
    expect(c.actions.filter((a) => a.verb === "patch")).toHaveLength(3); // other, 409, retry
  });

  it("other errors are the caller's", async () => {
    const c = new FakeClient([Widgets, widget()]);
    const w = await c.get(Widgets, "w", "ns");
    c.failNext("patch", new ApiError(500, "InternalError", "boom"));
    await expect(patchStatus(c, Widgets, w, { phase: "x" })).rejects.toThrow("boom");
  });
});

describe("finalizers", () => {
  it("removing the last finalizer of an object being deleted lets it go", async () => {
    const c = new FakeClient([Widgets, widget()]);
    const w = await ensureFinalizer(c, Widgets, await c.get(Widgets, "w", "ns"), "mine");
    expect(await ensureFinalizer(c, Widgets, w, "mine")).toBe(w); // present: nothing sent
    await c.delete(Widgets, "w", "ns");
    const deleting = await c.get(Widgets, "w", "ns");
    expect(deleting.metadata?.deletionTimestamp).toBeDefined();
    await removeFinalizer(c, Widgets, deleting, "mine");
    expect(c.peek(Widgets, "w", "ns")).toBeUndefined();
    await removeFinalizer(c, Widgets, deleting, "mine"); // gone already: no failure
  });
});

describe("children", () => {
  it("creates, then patches only what differs, and deletes only its own", async () => {
    const c = new FakeClient();
    const owner = { apiVersion: "v1", kind: "Owner", name: "o", uid: "u1", controller: true };
    const want: Widget = {
      ...widget("child"),
      metadata: { name: "child", namespace: "ns", ownerReferences: [owner] },
    };
    expect(await ensureChild(c, Widgets, want, undefined)).toBe("created");
    const cur = await c.get(Widgets, "child", "ns");
    expect(await ensureChild(c, Widgets, want, cur)).toBe("unchanged");
    expect(await ensureChild(c, Widgets, { ...want, spec: { size: 3 } }, cur)).toBe("updated");
    expect(c.actions.at(-1)?.body).toEqual({ spec: { size: 3 } });
    expect(await deleteChild(c, Widgets, cur, "someone-else")).toBe(false);
    expect(await deleteChild(c, Widgets, cur, "u1")).toBe(true);
    expect(await deleteChild(c, Widgets, cur, "u1")).toBe(true); // NotFound: no failure
  });

  it("replaceDiff removes keys the desired object no longer has", async () => {
    const cur = { ...widget(), spec: { size: 1, labels: { a: "1", b: "2" } } };
    const want = { ...widget(), spec: { size: 1, labels: { a: "1" } } };
    expect(replaceDiff<Widget>("spec")(cur, want)).toEqual({ spec: { labels: { b: null } } });
  });
});

describe("conditions", () => {
  it("marks stamp the generation and summarise Ready", () => {
    const w: Widget = { ...widget(), metadata: { name: "w", generation: 7 } };
    markTrue(w, "Placed");
    markFalse(w, "Powered", "Waiting", "host booting");
    expect(conditionOf(w, "Placed")).toMatchObject({
      status: "True",
      reason: "Placed",
      observedGeneration: 7,
    });
    markReadySummary(w, ["Placed", "Powered"]);
    expect(conditionOf(w, "Ready")).toMatchObject({
      status: "False",
      reason: "Waiting",
      message: "host booting",
    });
    markUnknown(w, "Powered", "Probing", "");
    markTrue(w, "Powered");
    markReadySummary(w, ["Placed", "Powered"]);
    expect(conditionOf(w, "Ready")?.status).toBe("True");
  });

  it("ignoreNotFound passes a 404 and rethrows the rest", async () => {
    await expect(
      Promise.reject(new ApiError(404, "NotFound", "x")).catch(ignoreNotFound),
    ).resolves.toBeUndefined();
    await expect(Promise.reject(new ApiError(409, "Conflict", "x")).catch(ignoreNotFound)).rejects.toThrow(
      "x",
    );
  });
});
