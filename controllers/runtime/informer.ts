// An informer: list, then watch from the list's resourceVersion, keeping a Store current and telling
// handlers what changed. It defends against the traps of client-node's informer (docs/runtime.md):
// - every error restarts it with jittered backoff (client-node's stops for good after most errors);
// - 410 Gone / "too old resource version" relists and diffs against the cache, emitting deletes for
//   objects that vanished while the watch was away;
// - 401/403 are visible: `authError` is set (readyz fails) and the log says why; they are retried
//   with the same backoff as any error, because they can be transient (a kube-apiserver that has just
//   restarted denies until its RBAC caches sync) and fixed RBAC should heal at once;
// - a watchdog restarts a watch that delivers neither events nor bookmarks for `watchdogMs`
//   (half-open connections stall silently);
// - a periodic resync re-delivers every object as an update (old === new) to its handlers.
import { cacheTransform } from "./cachetransform.ts";
import type { KubeClient, KubeObject, WatchEvent } from "./client.ts";
import { apiStatus, isAuthError, isGone } from "./errors.ts";
import type { Logger } from "./log.ts";
import { keyOf, type ResourceType } from "./resource.ts";
import { type IndexFunc, Store } from "./store.ts";

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every object as an update this often; 0 turns it off. */
  resyncMs?: number;
  /** Restart a watch that has been silent (no event, no bookmark) this long. */
  watchdogMs?: number;
  pageSize?: number;
  /** Keep metadata.managedFields in the cache (off by default: large, and no controller reads them). */
  keepManagedFields?: boolean;
  /**
   * Trims each object before it is stored and handed to handlers (client-go's TransformFunc).
   * Default: cacheTransform for the resource (cachetransform.ts: fields no reconciler reads).
   */
  transform?: (obj: KubeObject) => void;
}

export interface Handler<T> {
  add?(obj: T): void;
  /** `oldObj === newObj` for a periodic resync. */
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export const DEFAULT_WATCHDOG_MS = 150_000; // the API server sends a bookmark about every minute
export const DEFAULT_RESYNC_MS = 10 * 60_000;

export class Informer<T extends KubeObject> {
  readonly store = new Store<T>();
  private readonly transform: (obj: KubeObject) => void;
  private readonly handlers: Handler<T>[] = [];
  private running = false;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private resourceVersion = "";
  private abort: AbortController | undefined;
  private sleepTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** The last error; an auth error here makes the manager not ready. */
  lastError: { code: number; reason: string; message: string; at: Date } | undefined;
  /** Counts for tests and logs. */
  readonly stats = { lists: 0, watches: 0, watchdogRestarts: 0, relistsAfterGone: 0 };

  constructor(
    readonly resource: ResourceType<T>,
    private readonly client: KubeClient,
    private readonly log: Logger,
    readonly options: InformerOptions = {},
  ) {
    this.transform =
      options.transform ?? cacheTransform(resource.group, resource.kind, options.keepManagedFields);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get authError(): boolean {
    return this.lastError !== undefined && [401, 403].includes(this.lastError.code);
  }

  get lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  addHandler(h: Handler<T>): void {
    this.handlers.push(h);
    // A handler added after the first list sees what is already known.
    if (this.synced) for (const o of this.store.list()) h.add?.(o);
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.store.addIndex(name, fn);
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
    const resync = this.options.resyncMs ?? DEFAULT_RESYNC_MS;
    if (resync > 0) {
      this.resyncTimer = setInterval(() => this.resync(), resync);
      this.resyncTimer.unref();
    }
  }

  stop(): void {
    this.running = false;
    this.abort?.abort();
    if (this.sleepTimer) {
      clearTimeout(this.sleepTimer.timer);
      this.sleepTimer.resolve();
    }
    if (this.resyncTimer) clearInterval(this.resyncTimer);
  }

  private async run(): Promise<void> {
    // Restarted after stop(): resume watching from where it left off (the server answers 410 if
    // that is too old, which relists).
    let needList = !this.synced || !this.resourceVersion;
    while (this.running) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        if (!this.running) break; // stopped while listing
        await this.watch();
      } catch (e) {
        if (!this.running) break;
        const s = apiStatus(e);
        this.lastError = { ...s, at: new Date() };
        if (isGone(e)) {
          // Compacted: the watch cannot resume; relist and diff.
          this.stats.relistsAfterGone++;
          this.log.info(
            { resource: this.resource.plural, reason: s.reason },
            "resourceVersion too old; relisting",
          );
          needList = true;
          continue;
        }
        this.failures++;
        const delay = this.backoff();
        const fields = {
          resource: this.resource.plural,
          code: s.code,
          reason: s.reason,
          err: s.message,
          retryInMs: delay,
        };
        if (isAuthError(e))
          this.log.error(fields, "not allowed to list/watch: check the RBAC of this identity");
        else this.log.warn(fields, "list/watch failed; retrying");
        await this.sleep(delay);
      }
    }
  }

  /**
   * Jittered exponential backoff: 0.8 s doubling to 30 s, for auth errors too (client-go's reflector
   * does the same). The chaos suite caught a flat 30 s wait for 403s keeping a manager blind for up to
   * 45 s after a kube-apiserver restart.
   */
  private backoff(): number {
    const base = Math.min(30_000, 800 * 2 ** Math.min(this.failures - 1, 6));
    return Math.round(base * (0.5 + Math.random()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleepTimer = undefined;
        resolve();
      }, ms);
      this.sleepTimer = { timer, resolve };
    });
  }

  private async list(): Promise<void> {
    const o = this.options;
    const list = await this.client.list<T>(this.resource, {
      namespace: o.namespace,
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      limit: o.pageSize ?? 500,
    });
    this.stats.lists++;
    for (const o of list.items) this.transform(o);
    this.replace(list.items);
    this.resourceVersion = list.metadata.resourceVersion ?? "";
    this.lastError = undefined;
    this.failures = 0;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** Makes the store equal to `items`, emitting add/update/delete for the differences. */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj.metadata);
      seen.add(key);
      const old = this.store.set(obj);
      if (!old) this.emit("add", obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit("update", obj, old);
    }
    for (const key of [...this.store.keys()]) {
      if (seen.has(key)) continue;
      const gone = this.store.delete(key);
      if (gone) this.emit("delete", gone);
    }
  }

  private async watch(): Promise<void> {
    const o = this.options;
    const watchdogMs = o.watchdogMs ?? DEFAULT_WATCHDOG_MS;
    const abort = new AbortController();
    this.abort = abort;
    let lastActivity = Date.now();
    const watchdog = setInterval(
      () => {
        if (Date.now() - lastActivity <= watchdogMs) return;
        this.stats.watchdogRestarts++;
        this.log.warn(
          { resource: this.resource.plural, silentMs: Date.now() - lastActivity },
          "watch silent; restarting it",
        );
        abort.abort();
      },
      Math.max(50, Math.min(5_000, watchdogMs / 4)),
    );
    watchdog.unref();
    this.stats.watches++;
    try {
      await this.client.watch<T>(
        this.resource,
        {
          namespace: o.namespace,
          labelSelector: o.labelSelector,
          fieldSelector: o.fieldSelector,
          resourceVersion: this.resourceVersion,
          // Like client-go: end each watch after 5-10 min so load spreads over API servers.
          timeoutSeconds: Math.round(300 * (1 + Math.random())),
        },
        (e) => {
          lastActivity = Date.now();
          this.onEvent(e);
        },
        abort.signal,
        // A backstop only: the watchdog owns stall detection, so it must fire first.
        watchdogMs + 5_000,
      );
    } finally {
      clearInterval(watchdog);
      this.abort = undefined;
    }
  }

  private onEvent(e: WatchEvent<T>): void {
    const rv = e.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    this.failures = 0;
    this.lastError = undefined;
    if (e.type === "BOOKMARK") return;
    this.transform(e.object);
    const key = keyOf(e.object.metadata);
    if (e.type === "DELETED") {
      const old = this.store.delete(key);
      this.emit("delete", e.object ?? old);
      return;
    }
    const old = this.store.set(e.object);
    if (old) this.emit("update", e.object, old);
    else this.emit("add", e.object);
  }

  private resync(): void {
    if (!this.synced) return;
    for (const o of this.store.list()) for (const h of this.handlers) h.update?.(o, o);
  }

  private emit(type: "add" | "update" | "delete", obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        if (type === "add") h.add?.(obj);
        else if (type === "update") h.update?.(old ?? obj, obj);
        else h.delete?.(obj);
      } catch (e) {
        this.log.error({ err: String(e), resource: this.resource.plural }, "event handler threw");
      }
    }
  }
}
