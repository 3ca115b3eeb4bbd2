// The REST client every controller writes through. @kubernetes/client-node loads the kubeconfig and
// supplies TLS and credentials; the requests are ours, so that:
// - every write names its content type (custom resources reject strategic merge patch with 415, and
//   client-node's generated patch methods default to JSON patch);
// - every write carries fieldManager=pacific;
// - every failure is an ApiError with the parsed metav1.Status (errors.ts);
// - every request is counted in rest_client_requests_total{code,method,host};
// - watches are streams the informer can abort (the watchdog) and that never time out on their own.
import http from "node:http";
import https from "node:https";
import type { KubeConfig, V1ObjectMeta } from "@kubernetes/client-node";
import { ApiError, statusFromBody } from "./errors.ts";
import type { Json } from "./patch.ts";
import { collectionPath, objectPath, type ResourceType } from "./resource.ts";

export const FIELD_MANAGER = "pacific";

export type PatchType = "merge" | "json" | "apply";
const patchContentType: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

/**
 * Any Kubernetes object. Built-in kinds use client-node's model types and custom kinds the types
 * generated from crds/; note that timestamps arrive as strings whatever the model types say.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

/** What `create` takes: any object body; the API server fills in its defaults. */
export type NewObject = KubeObject & { [field: string]: unknown };

export interface ObjectList<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface WatchEvent<T = KubeObject> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ClientOptions {
  /** Client-side rate limit; 0 disables it (as kwok does). */
  qps?: number;
  burst?: number;
  userAgent?: string;
  timeoutMs?: number;
  /** Act as this user (and groups), like kubectl --as / --as-group. */
  impersonate?: { user: string; groups?: string[] };
  /** Called once per completed request (the rest_client_requests_total counter). */
  onRequest?: (code: string, method: string, host: string) => void;
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  query?: Query;
  /** Resolve with the response text instead of parsed JSON (/metrics, say). */
  raw?: boolean;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export interface PatchOptions {
  type?: PatchType;
  subresource?: string;
  force?: boolean;
  /** The field manager of a server-side apply (default FIELD_MANAGER). */
  fieldManager?: string;
  /** Server-side dry run (dryRun=All): validated and admitted, not stored. */
  dryRun?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  /** Precondition: delete only the object with this uid. */
  uid?: string;
}

/**
 * What reconcilers need of the API server: the typed verbs. KubeClient is the real one; unit tests
 * of reconcilers use the in-memory FakeClient (runtime/testing/fakeclient.ts).
 */
export interface Client {
  get<T extends KubeObject>(rt: ResourceType<T>, name: string, namespace?: string): Promise<T>;
  list<T extends KubeObject>(rt: ResourceType<T>, o?: ListOptions): Promise<ObjectList<T>>;
  create<T extends KubeObject>(rt: ResourceType<T>, obj: T | NewObject, namespace?: string): Promise<T>;
  replace<T extends KubeObject>(rt: ResourceType<T>, obj: T, subresource?: string): Promise<T>;
  patch<T extends KubeObject>(
    rt: ResourceType<T>,
    name: string,
    namespace: string | undefined,
    body: Json | object,
    o?: PatchOptions,
  ): Promise<T>;
  delete(rt: ResourceType, name: string, namespace?: string, o?: DeleteOptions): Promise<unknown>;
}

/** Async token bucket for the client-side QPS limit. */
class Throttle {
  private tokens: number;
  private last = Date.now();
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly qps: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): Promise<void> {
    if (this.qps <= 0) return Promise.resolve();
    this.chain = this.chain.then(async () => {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
      if (this.tokens < 1) {
        await new Promise((r) => setTimeout(r, ((1 - this.tokens) / this.qps) * 1000));
        this.tokens = 1;
        this.last = Date.now();
      }
      this.tokens -= 1;
    });
    return this.chain;
  }
}

export class KubeClient implements Client {
  readonly server: URL;
  private readonly agent: http.Agent;
  private readonly watchAgent: http.Agent;
  private readonly throttle: Throttle;
  private readonly timeoutMs: number;
  private auth: { options: https.RequestOptions; at: number } | undefined;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly opts: ClientOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    this.server = new URL(cluster.server);
    const Agent = this.server.protocol === "https:" ? https.Agent : http.Agent;
    // Controllers are latency-bound: allow many requests in flight (the API server's priority and
    // fairness, not this client, is what protects it).
    this.agent = new Agent({ keepAlive: true, maxSockets: 256 });
    this.watchAgent = new Agent({ keepAlive: true });
    this.throttle = new Throttle(opts.qps ?? 0, opts.burst ?? Math.max(1, (opts.qps ?? 0) * 2));
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  get host(): string {
    return this.server.host;
  }

  // ---------- typed verbs ----------
  get<T extends KubeObject>(rt: ResourceType<T>, name: string, namespace?: string): Promise<T> {
    return this.request<T>("GET", objectPath(rt, name, namespace));
  }

  /** One page of a list. */
  listPage<T extends KubeObject>(rt: ResourceType<T>, o: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>("GET", collectionPath(rt, o.namespace), {
      query: {
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
        limit: o.limit,
        continue: o.continue,
        resourceVersion: o.resourceVersion,
      },
      timeoutMs: 60_000,
    });
  }

  /** Every item, following `continue` tokens. */
  async list<T extends KubeObject>(rt: ResourceType<T>, o: ListOptions = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let page = await this.listPage<T>(rt, { limit: 500, ...o });
    items.push(...page.items);
    while (page.metadata.continue) {
      page = await this.listPage<T>(rt, { limit: 500, ...o, continue: page.metadata.continue });
      items.push(...page.items);
    }
    return { metadata: { resourceVersion: page.metadata.resourceVersion }, items };
  }

  /** `obj` may leave out what the API server defaults: it is typed loosely, the answer by `rt`. */
  create<T extends KubeObject>(
    rt: ResourceType<T>,
    obj: T | NewObject,
    namespace = obj.metadata?.namespace,
  ): Promise<T> {
    return this.request<T>("POST", collectionPath(rt, namespace), {
      body: obj,
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  /** POST to an object's subresource (a pod's eviction, say). */
  createSubresource<T = unknown>(
    rt: ResourceType,
    name: string,
    namespace: string | undefined,
    subresource: string,
    body: NewObject,
  ): Promise<T> {
    return this.request<T>("POST", objectPath(rt, name, namespace, subresource), {
      body,
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  /** PUT: optimistic concurrency through metadata.resourceVersion. */
  replace<T extends KubeObject>(rt: ResourceType<T>, obj: T, subresource?: string): Promise<T> {
    const m = obj.metadata ?? {};
    return this.request<T>("PUT", objectPath(rt, m.name ?? "", m.namespace, subresource), {
      body: obj,
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  patch<T extends KubeObject>(
    rt: ResourceType<T>,
    name: string,
    namespace: string | undefined,
    body: Json | object,
    o: PatchOptions = {},
  ): Promise<T> {
    const type = o.type ?? "merge";
    return this.request<T>("PATCH", objectPath(rt, name, namespace, o.subresource), {
      body,
      contentType: patchContentType[type],
      query: {
        fieldManager: o.fieldManager ?? FIELD_MANAGER,
        force: type === "apply" ? (o.force ?? true) : undefined,
        dryRun: o.dryRun ? "All" : undefined,
      },
    });
  }

  delete(rt: ResourceType, name: string, namespace?: string, o: DeleteOptions = {}): Promise<unknown> {
    return this.request("DELETE", objectPath(rt, name, namespace), {
      body: {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: o.propagationPolicy,
        gracePeriodSeconds: o.gracePeriodSeconds,
        preconditions: o.uid ? { uid: o.uid } : undefined,
      },
    });
  }

  // ---------- transport ----------
  private async requestOptions(method: string, path: string, query?: Query): Promise<https.RequestOptions> {
    // Credentials are re-read every minute: cheap, and rotated service-account tokens are picked up.
    if (!this.auth || Date.now() - this.auth.at > 60_000) {
      const options: https.RequestOptions = {};
      await this.kubeConfig.applyToHTTPSOptions(options);
      this.auth = { options, at: Date.now() };
    }
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") q.set(k, String(v));
    const qs = q.toString();
    const base = this.server.pathname.replace(/\/$/, "");
    const { agent: _ignored, ...auth } = this.auth.options;
    return {
      ...auth,
      protocol: this.server.protocol,
      hostname: this.server.hostname,
      port: this.server.port,
      method,
      path: `${base}${path}${qs ? `?${qs}` : ""}`,
      headers: {
        ...(auth.headers as Record<string, string> | undefined),
        Accept: "application/json",
        "User-Agent": this.opts.userAgent ?? "pacific",
        ...(this.opts.impersonate
          ? {
              "Impersonate-User": this.opts.impersonate.user,
              ...(this.opts.impersonate.groups?.length
                ? { "Impersonate-Group": this.opts.impersonate.groups }
                : {}),
            }
          : {}),
      },
    };
  }

  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    await this.throttle.take();
    try {
      return await this.send<T>(method, path, o);
    } catch (e) {
      // A kept-alive socket the server closed (it restarted) fails on first use; the request never
      // reached the server, so sending it once more is safe (Node's documented remedy).
      if ((e as { reusedSocket?: boolean }).reusedSocket) return this.send<T>(method, path, o);
      throw e;
    }
  }

  private async send<T>(method: string, path: string, o: RequestOptions): Promise<T> {
    const options = await this.requestOptions(method, path, o.query);
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    if (payload) {
      options.headers = {
        ...(options.headers as Record<string, string>),
        "Content-Type": o.contentType ?? "application/json",
        "Content-Length": String(payload.length),
      };
    }
    options.agent = this.agent;
    const mod = this.server.protocol === "https:" ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = mod.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const code = res.statusCode ?? 0;
          this.opts.onRequest?.(String(code), method, this.host);
          const text = Buffer.concat(chunks).toString("utf8");
          if (code >= 400) {
            const s = statusFromBody(code, text);
            reject(new ApiError(s.code, s.reason, s.message, method, path));
            return;
          }
          if (o.raw) {
            resolve(text as T);
            return;
          }
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch (e) {
            reject(e);
          }
        });
      });
      req.setTimeout(o.timeoutMs ?? this.timeoutMs, () => {
        req.destroy(new Error(`${method} ${path}: no answer within ${o.timeoutMs ?? this.timeoutMs} ms`));
      });
      req.on("error", (e: NodeJS.ErrnoException) => {
        this.opts.onRequest?.("<error>", method, this.host);
        const stale = req.reusedSocket && (e.code === "ECONNRESET" || e.message === "socket hang up");
        reject(stale ? Object.assign(e, { reusedSocket: true }) : e);
      });
      if (payload) req.write(payload);
      req.end();
    });
  }

  /**
   * Streams a watch. Resolves when the server ends it or `signal` aborts it; rejects on an HTTP
   * error, a watch ERROR event (e.g. 410 Gone) or a broken connection. `onEvent` sees every event
   * (bookmarks included) in order.
   */
  async watch<T extends KubeObject>(
    rt: ResourceType,
    o: ListOptions & { resourceVersion: string; timeoutSeconds?: number },
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
    headerTimeoutMs = 30_000,
  ): Promise<void> {
    const options = await this.requestOptions("GET", collectionPath(rt, o.namespace), {
      watch: 1,
      allowWatchBookmarks: true,
      resourceVersion: o.resourceVersion,
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      timeoutSeconds: o.timeoutSeconds,
    });
    options.agent = this.watchAgent;
    options.signal = signal;
    const mod = this.server.protocol === "https:" ? https : http;
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      const req = mod.request(options, (res) => {
        const code = res.statusCode ?? 0;
        this.opts.onRequest?.(String(code), "WATCH", this.host);
        clearTimeout(headerTimer);
        if (code >= 400) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const s = statusFromBody(code, Buffer.concat(chunks).toString("utf8"));
            reject(new ApiError(s.code, s.reason, s.message, "WATCH", rt.plural));
          });
          return;
        }
        let buffer = "";
        let failed = false;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (failed) return;
          buffer += chunk;
          let nl = buffer.indexOf("\n");
          while (nl >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            nl = buffer.indexOf("\n");
            if (!line) continue;
            const event = JSON.parse(line) as WatchEvent<T>;
            if (event.type === "ERROR") {
              failed = true;
              const s = statusFromBody(500, event.object);
              req.destroy();
              reject(new ApiError(s.code, s.reason, s.message, "WATCH", rt.plural));
              return;
            }
            onEvent(event);
          }
        });
        res.on("end", () => resolve());
        res.on("error", (e) => (signal.aborted ? resolve() : reject(e)));
        res.on("aborted", () => (signal.aborted ? resolve() : reject(new Error("watch connection aborted"))));
      });
      // A stalled server accepts the TCP connection but never answers: give up on the headers.
      const headerTimer = setTimeout(
        () => req.destroy(new Error(`watch: no response headers within ${headerTimeoutMs} ms`)),
        headerTimeoutMs,
      );
      req.on("error", (e) => {
        clearTimeout(headerTimer);
        if (signal.aborted) resolve();
        else {
          this.opts.onRequest?.("<error>", "WATCH", this.host);
          reject(e);
        }
      });
      req.end();
    });
  }
}
