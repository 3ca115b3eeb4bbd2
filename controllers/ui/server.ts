// The web UI's HTTP side, mounted by the manager under /ui/:
//   GET  /ui/, /ui/assets/*  the page and its bundle (no data in them; public, so the login form loads)
//   POST /ui/api/login       {token}: TokenReview; sets the HttpOnly, SameSite=Strict session cookie
//   POST /ui/api/logout      clears it
//   GET  /ui/api/session     who is logged in, and the CSRF token actions must echo
//   GET  /ui/api/stream      server-sent events: a snapshot of what the viewer may see, then changes
//   POST /ui/api/action      an action, performed with the viewer's token (actions.ts)
// Everything under /ui/api/ but login needs the cookie (or an Authorization: Bearer header); the
// cookie holds the bearer token itself, so any replica can serve any request (no session state).
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type http from "node:http";
import { extname, join, normalize } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { apiStatus } from "../runtime/errors.ts";
import type { Logger } from "../runtime/log.ts";
import { parseAction, perform, viewerClient } from "./actions.ts";
import type { Authenticator, Authorizer, Viewer } from "./auth.ts";
import type { LiveInventory, RowChanges } from "./live.ts";
import type { Changes, SessionInfo, Snapshot } from "./model.ts";
import { computeScope } from "./scope.ts";

export const PREFIX = "/ui/";
export const COOKIE = "pacific_ui";
const SESSION_MAX_AGE_S = 8 * 3600;
const SCOPE_REFRESH_MS = 15_000;
const KEEPALIVE_MS = 15_000;
const MAX_BODY = 64 * 1024;
const MAX_BUFFERED = 16 * 2 ** 20;

export interface UiServerOptions {
  live: LiveInventory;
  authn: Authenticator;
  authz: Authorizer;
  /** The manager's kubeconfig: its cluster (server, CA) is where viewers' actions go. */
  kubeConfig: KubeConfig;
  /** The namespaces to ask about for viewers without cluster-wide rights. */
  namespaces: () => string[];
  assetsDir: string;
  log: Logger;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
};

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
};

export class UiServer {
  private readonly streams = new Set<http.ServerResponse>();
  readonly stats = { streams: 0, bytesSent: 0 };

  constructor(private readonly o: UiServerOptions) {}

  /** Ends every open event stream (the manager is stopping). */
  close(): void {
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://ui.invalid");
    const path = url.pathname.slice(PREFIX.length);
    const method = req.method ?? "GET";
    if (!path.startsWith("api/")) {
      if (method !== "GET" && method !== "HEAD") return send(res, 405, { error: "method not allowed" });
      return this.asset(res, path === "" ? "index.html" : path);
    }
    const route = `${method} ${path}`;
    if (route === "POST api/login") return this.login(req, res);
    if (route === "POST api/logout") {
      res.setHeader("Set-Cookie", cookie(req, "", 0));
      return send(res, 200, { ok: true });
    }
    const viewer = await this.viewer(req);
    if (!viewer) return send(res, 401, { error: "log in with a Kubernetes bearer token" });
    if (route === "GET api/session") return send(res, 200, sessionInfo(viewer));
    if (route === "GET api/stream") return this.stream(req, res, viewer);
    if (route === "POST api/action") return this.action(req, res, viewer);
    return send(res, 404, { error: "not found" });
  };

  private async viewer(req: http.IncomingMessage): Promise<Viewer | undefined> {
    const token = bearer(req) ?? readCookie(req, COOKIE);
    if (!token) return undefined;
    try {
      return await this.o.authn.authenticate(token);
    } catch (e) {
      this.o.log.warn({ err: String(e) }, "TokenReview failed");
      return undefined;
    }
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!isJson(req)) return send(res, 415, { error: "send application/json" });
    const body = await readJson(req);
    const token = typeof body === "object" && body ? (body as { token?: unknown }).token : undefined;
    if (typeof token !== "string" || !token.trim()) return send(res, 400, { error: "token is required" });
    let viewer: Viewer | undefined;
    try {
      viewer = await this.o.authn.authenticate(token.trim());
    } catch (e) {
      this.o.log.warn({ err: String(e) }, "TokenReview failed");
      return send(res, 503, { error: "cannot reach the API server to check the token" });
    }
    if (!viewer) return send(res, 401, { error: "the API server does not accept this token" });
    this.o.log.info({ user: viewer.user }, "UI login");
    res.setHeader("Set-Cookie", cookie(req, viewer.token, SESSION_MAX_AGE_S));
    send(res, 200, sessionInfo(viewer));
  }

  private async stream(req: http.IncomingMessage, res: http.ServerResponse, first: Viewer): Promise<void> {
    let viewer = first;
    let scope = await computeScope(viewer, this.o.authz, this.o.namespaces());
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    });
    this.streams.add(res);
    this.stats.streams++;
    const write = (event: string, data: unknown) => {
      if (res.writableEnded || res.destroyed) return;
      // A browser that does not keep up: drop it rather than buffer without bound; EventSource
      // reconnects and starts again from a fresh snapshot.
      if (res.writableLength > MAX_BUFFERED) {
        res.end();
        return;
      }
      const chunk = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      this.stats.bytesSent += chunk.length;
      res.write(chunk);
    };
    const snapshot = () => {
      const s: Snapshot = {
        rows: this.o.live.snapshot().filter(scope.visible),
        abilities: scope.abilities,
        seesHosts: scope.seesHosts,
      };
      write("snapshot", s);
    };
    res.write("retry: 2000\n\n");
    snapshot();
    const unsubscribe = this.o.live.subscribe((c: RowChanges) => {
      const out: Changes = {
        upserts: c.upserts.filter(scope.visible),
        deletes: c.deletes.filter(scope.visible).map((r) => r.id),
      };
      if (out.upserts.length || out.deletes.length) write("changes", out);
    });
    const keepalive = setInterval(() => {
      if (!res.writableEnded) res.write(": keepalive\n\n");
    }, KEEPALIVE_MS);
    // Rights change (a RoleBinding added, a token revoked): ask again, resend when they differ.
    const refresh = setInterval(() => {
      void (async () => {
        const again = await this.viewer(req);
        if (!again) {
          write("unauthorized", { error: "the token is no longer accepted" });
          res.end();
          return;
        }
        viewer = again;
        const next = await computeScope(viewer, this.o.authz, this.o.namespaces());
        if (next.signature !== scope.signature) {
          scope = next;
          snapshot();
        }
      })().catch((e) => this.o.log.warn({ err: String(e) }, "UI scope refresh failed"));
    }, SCOPE_REFRESH_MS);
    const done = () => {
      unsubscribe();
      clearInterval(keepalive);
      clearInterval(refresh);
      this.streams.delete(res);
    };
    res.on("close", done);
  }

  private async action(req: http.IncomingMessage, res: http.ServerResponse, viewer: Viewer): Promise<void> {
    // CSRF: a cookie-authenticated action must carry the token only same-origin script can read
    // (from /ui/api/session); browsers never send custom headers cross-site without CORS, which
    // this server does not grant. SameSite=Strict on the cookie is the second wall.
    if (!bearer(req)) {
      const want = Buffer.from(sessionInfo(viewer).csrf);
      const got = Buffer.from(String(req.headers["x-pacific-csrf"] ?? ""));
      if (got.length !== want.length || !timingSafeEqual(got, want))
        return send(res, 403, { error: "missing or wrong X-Pacific-CSRF header" });
    }
    if (!isJson(req)) return send(res, 415, { error: "send application/json" });
    const a = parseAction(await readJson(req));
    if (typeof a === "string") return send(res, 400, { error: a });
    try {
      await perform(viewerClient(this.o.kubeConfig, viewer.token), a);
      this.o.log.info({ user: viewer.user, action: a }, "UI action");
      send(res, 200, { ok: true });
    } catch (e) {
      const s = apiStatus(e);
      send(res, s.code >= 400 && s.code < 600 ? s.code : 500, { error: s.message });
    }
  }

  private async asset(res: http.ServerResponse, path: string): Promise<void> {
    const file = normalize(join(this.o.assetsDir, path));
    if (!file.startsWith(normalize(this.o.assetsDir))) return send(res, 404, { error: "not found" });
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return send(res, 404, { error: "not found" });
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Cache-Control": path === "index.html" ? "no-cache" : "public, max-age=300",
    });
    res.end(body);
  }
}

/** The session's CSRF token: derived from the bearer token, so every replica computes the same. */
export function sessionInfo(v: Viewer): SessionInfo {
  return {
    user: v.user,
    groups: v.groups,
    csrf: createHash("sha256").update(`pacific-ui-csrf\u0000${v.token}`).digest("base64url"),
  };
}

function send(res: http.ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, {
    ...SECURITY_HEADERS,
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
  });
  res.end(JSON.stringify(body));
}

function bearer(req: http.IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith("Bearer ") ? h.slice(7).trim() || undefined : undefined;
}

export function readCookie(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

/** Secure when the request came over TLS (directly or through a proxy that says so). */
function cookie(req: http.IncomingMessage, value: string, maxAge: number): string {
  const tls =
    (req.socket as { encrypted?: boolean }).encrypted === true ||
    req.headers["x-forwarded-proto"] === "https";
  return `${COOKIE}=${encodeURIComponent(value)}; Path=${PREFIX}; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${tls ? "; Secure" : ""}`;
}

function isJson(req: http.IncomingMessage): boolean {
  return (req.headers["content-type"] ?? "").split(";")[0]?.trim() === "application/json";
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}
