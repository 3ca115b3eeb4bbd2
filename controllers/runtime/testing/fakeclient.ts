// An in-memory Client for unit tests of reconcilers' decisions — never for e2e, which talk to the
// real API server. It keeps what the API server's semantics that reconcilers rely on: uid,
// resourceVersion and generation; AlreadyExists, NotFound and Conflict (a resourceVersion in a patch
// body is a precondition); merge patches (RFC 7386) with /status as its own subresource; deletion
// that waits for finalizers (deletionTimestamp) and honours a uid precondition. Every write is
// recorded in `actions`; `failNext` injects an error.

import type {
  Client,
  DeleteOptions,
  KubeObject,
  ListOptions,
  NewObject,
  ObjectList,
  PatchOptions,
} from "../client.ts";
import { ApiError } from "../errors.ts";
import { type Json, snapshot } from "../patch.ts";
import { keyFor, type ResourceType } from "../resource.ts";

export interface Action {
  verb: "create" | "patch" | "delete" | "replace";
  kind: string;
  key: string;
  subresource?: string;
  body?: unknown;
}

type Verb = Action["verb"] | "get" | "list";

const typeKey = (rt: ResourceType) => `${rt.group}/${rt.version}/${rt.plural}`;

export class FakeClient implements Client {
  readonly actions: Action[] = [];
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private rv = 1;
  private uid = 1;
  private readonly failures: Array<{ verb: Verb; kind?: string; error: ApiError }> = [];

  /** Objects to start from (as if already stored). */
  constructor(...seed: Array<[ResourceType, KubeObject]>) {
    for (const [rt, o] of seed) this.store(rt, this.stamp(snapshot(o)));
  }

  /** The next `verb` (on `kind`, if given) fails with `error`. */
  failNext(verb: Verb, error: ApiError, kind?: string): void {
    this.failures.push({ verb, kind, error });
  }

  /** What is stored now (a copy), or undefined. */
  peek<T extends KubeObject>(rt: ResourceType<T>, name: string, namespace?: string): T | undefined {
    const o = this.bucket(rt).get(keyFor(rt.namespaced ? namespace : undefined, name));
    return o ? (snapshot(o) as T) : undefined;
  }

  writes(kind?: string): Action[] {
    return this.actions.filter((a) => !kind || a.kind === kind);
  }

  async get<T extends KubeObject>(rt: ResourceType<T>, name: string, namespace?: string): Promise<T> {
    this.maybeFail("get", rt);
    const o = this.peek(rt, name, namespace);
    if (!o) throw notFound(rt, name);
    return o;
  }

  async list<T extends KubeObject>(rt: ResourceType<T>, o: ListOptions = {}): Promise<ObjectList<T>> {
    this.maybeFail("list", rt);
    const want = parseSelector(o.labelSelector);
    const items = [...this.bucket(rt).values()].filter(
      (x) =>
        (!o.namespace || x.metadata?.namespace === o.namespace) &&
        want.every(([k, v]) =>
          v === undefined ? k in (x.metadata?.labels ?? {}) : x.metadata?.labels?.[k] === v,
        ),
    );
    return { metadata: { resourceVersion: String(this.rv) }, items: items.map((x) => snapshot(x) as T) };
  }

  async create<T extends KubeObject>(
    rt: ResourceType<T>,
    obj: T | NewObject,
    namespace?: string,
  ): Promise<T> {
    this.maybeFail("create", rt);
    const o = snapshot(obj) as KubeObject;
    o.metadata = {
      ...o.metadata,
      namespace: rt.namespaced ? (namespace ?? o.metadata?.namespace) : undefined,
    };
    const key = this.keyOf(rt, o);
    this.actions.push({ verb: "create", kind: rt.kind, key, body: snapshot(obj) });
    if (this.bucket(rt).has(key))
      throw new ApiError(409, "AlreadyExists", `${rt.plural} "${o.metadata.name}" already exists`);
    return snapshot(this.store(rt, this.stamp(o))) as T;
  }

  async replace<T extends KubeObject>(rt: ResourceType<T>, obj: T, subresource?: string): Promise<T> {
    this.maybeFail("replace", rt);
    const key = this.keyOf(rt, obj);
    this.actions.push({ verb: "replace", kind: rt.kind, key, subresource, body: snapshot(obj) });
    const cur = this.bucket(rt).get(key);
    if (!cur) throw notFound(rt, obj.metadata?.name ?? "");
    if (obj.metadata?.resourceVersion !== cur.metadata?.resourceVersion) throw conflict(rt, key);
    const next = { ...snapshot(obj), metadata: { ...obj.metadata, uid: cur.metadata?.uid } } as KubeObject;
    return snapshot(this.store(rt, this.bump(cur, next))) as T;
  }

  async patch<T extends KubeObject>(
    rt: ResourceType<T>,
    name: string,
    namespace: string | undefined,
    body: Json | object,
    o: PatchOptions = {},
  ): Promise<T> {
    this.maybeFail("patch", rt);
    if ((o.type ?? "merge") !== "merge") throw new Error("FakeClient supports merge patches only");
    const key = keyFor(rt.namespaced ? namespace : undefined, name);
    this.actions.push({
      verb: "patch",
      kind: rt.kind,
      key,
      subresource: o.subresource,
      body: snapshot(body),
    });
    const cur = this.bucket(rt).get(key);
    if (!cur) throw notFound(rt, name);
    const p = snapshot(body) as Record<string, unknown> & { metadata?: { resourceVersion?: string | null } };
    const precondition = p.metadata?.resourceVersion;
    if (precondition && precondition !== cur.metadata?.resourceVersion) throw conflict(rt, key);
    if (p.metadata) delete p.metadata.resourceVersion;
    // /status changes only the status; the main resource never does (status subresource semantics).
    const scoped = o.subresource === "status" ? { status: p.status ?? null } : withoutStatus(p);
    const next = applyMergePatch(snapshot(cur), scoped) as KubeObject;
    const stored = this.bump(cur, next);
    // The last finalizer gone from an object being deleted: it goes.
    if (stored.metadata?.deletionTimestamp && !stored.metadata.finalizers?.length) {
      this.bucket(rt).delete(key);
      return snapshot(stored) as T;
    }
    return snapshot(this.store(rt, stored)) as T;
  }

  async delete(rt: ResourceType, name: string, namespace?: string, o: DeleteOptions = {}): Promise<unknown> {
    this.maybeFail("delete", rt);
    const key = keyFor(rt.namespaced ? namespace : undefined, name);
    this.actions.push({ verb: "delete", kind: rt.kind, key, body: o });
    const cur = this.bucket(rt).get(key);
    if (!cur) throw notFound(rt, name);
    if (o.uid && cur.metadata?.uid !== o.uid)
      throw new ApiError(409, "Conflict", `Precondition failed: UID in precondition: ${o.uid}`);
    if (cur.metadata?.finalizers?.length) {
      if (!cur.metadata.deletionTimestamp)
        this.store(
          rt,
          this.bump(cur, { ...cur, metadata: { ...cur.metadata, deletionTimestamp: new Date() } }),
        );
      return {};
    }
    this.bucket(rt).delete(key);
    return {};
  }

  private bucket(rt: ResourceType): Map<string, KubeObject> {
    const b = this.objects.get(typeKey(rt)) ?? new Map<string, KubeObject>();
    this.objects.set(typeKey(rt), b);
    return b;
  }

  private keyOf(rt: ResourceType, o: KubeObject): string {
    return keyFor(rt.namespaced ? o.metadata?.namespace : undefined, o.metadata?.name ?? "");
  }

  private store(rt: ResourceType, o: KubeObject): KubeObject {
    this.bucket(rt).set(this.keyOf(rt, o), o);
    return o;
  }

  private stamp(o: KubeObject): KubeObject {
    o.metadata = {
      ...o.metadata,
      uid: o.metadata?.uid ?? `uid-${this.uid++}`,
      resourceVersion: String(this.rv++),
      generation: o.metadata?.generation ?? 1,
      creationTimestamp: o.metadata?.creationTimestamp ?? new Date(0),
    };
    return o;
  }

  private bump(cur: KubeObject, next: KubeObject): KubeObject {
    const specChanged =
      JSON.stringify((cur as { spec?: unknown }).spec) !== JSON.stringify((next as { spec?: unknown }).spec);
    next.metadata = {
      ...next.metadata,
      resourceVersion: String(this.rv++),
      generation: (cur.metadata?.generation ?? 1) + (specChanged ? 1 : 0),
    };
    return next;
  }

  private maybeFail(verb: Verb, rt: ResourceType): void {
    const i = this.failures.findIndex((f) => f.verb === verb && (!f.kind || f.kind === rt.kind));
    if (i < 0) return;
    const [f] = this.failures.splice(i, 1);
    if (f) throw f.error;
  }
}

export const notFound = (rt: ResourceType, name: string) =>
  new ApiError(404, "NotFound", `${rt.plural} "${name}" not found`);
export const conflict = (rt: ResourceType, key: string) =>
  new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${rt.plural} "${key}": the object has been modified; please apply your changes to the latest version and try again`,
  );

function withoutStatus(p: Record<string, unknown>): Record<string, unknown> {
  const { status: _ignored, ...rest } = p;
  return rest;
}

/** RFC 7386. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

function parseSelector(s: string | undefined): Array<[string, string | undefined]> {
  if (!s) return [];
  return s.split(",").map((part) => {
    const [k, v] = part.split("=");
    return [k ?? "", v];
  });
}
