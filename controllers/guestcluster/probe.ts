// Requests to a guest API server as its admin (client certificate), trusting only the guest's CA:
// the /readyz probe, /version, and the add-ons' server-side apply. Both runtimes use it; they differ
// only in where the admin credentials come from (files on disk, or the rendered Secret).
import { request } from "node:https";
import { GUEST_API_PORT } from "./controlplane.ts";

/** Where a guest API server is and how to authenticate to it (PEMs). */
export interface GuestEndpoint {
  host: string;
  port?: number;
  ca: string | Buffer;
  cert: string | Buffer;
  key: string | Buffer;
}

export interface GuestAnswer {
  status: number;
  body: string;
}

/** One request; undefined when nothing answers (refused, timed out, TLS failed). */
export function guestCall(
  ep: GuestEndpoint,
  method: string,
  path: string,
  timeoutMs: number,
  send?: { body: string; contentType: string },
): Promise<GuestAnswer | undefined> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: ep.host,
        port: ep.port ?? GUEST_API_PORT,
        method,
        path,
        ca: ep.ca,
        cert: ep.cert,
        key: ep.key,
        timeout: timeoutMs,
        headers: send
          ? { "Content-Type": send.contentType, "Content-Length": Buffer.byteLength(send.body) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          if (chunks.length < 64) chunks.push(c); // answers here are small; bound them anyway
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", () => resolve(undefined));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end(send?.body);
  });
}

/** GET /readyz answered 200. */
export async function guestReady(ep: GuestEndpoint | undefined, timeoutMs = 2000): Promise<boolean> {
  if (!ep) return false;
  return (await guestCall(ep, "GET", "/readyz", timeoutMs))?.status === 200;
}

/** The gitVersion /version reports, or undefined when the guest does not answer. */
export async function guestVersion(
  ep: GuestEndpoint | undefined,
  timeoutMs = 2000,
): Promise<string | undefined> {
  if (!ep) return undefined;
  const r = await guestCall(ep, "GET", "/version", timeoutMs);
  if (r?.status !== 200) return undefined;
  try {
    const v = (JSON.parse(r.body) as { gitVersion?: unknown }).gitVersion;
    return typeof v === "string" && v ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Server-side apply of `obj` at `path` (force: the objects are ours); throws with the guest's answer. */
export async function guestApply(
  ep: GuestEndpoint | undefined,
  path: string,
  obj: object,
  fieldManager: string,
) {
  const q = `?fieldManager=${encodeURIComponent(fieldManager)}&force=true`;
  const r = ep
    ? await guestCall(ep, "PATCH", `${path}${q}`, 5000, {
        body: JSON.stringify(obj),
        contentType: "application/apply-patch+yaml",
      })
    : undefined;
  if (r?.status !== 200 && r?.status !== 201)
    throw new Error(`apply ${path}: ${r ? `${r.status} ${r.body.slice(0, 300)}` : "no answer"}`);
}

/** Whether the object at `path` exists in the guest; undefined when the guest does not answer. */
export async function guestExists(ep: GuestEndpoint | undefined, path: string): Promise<boolean | undefined> {
  const r = ep ? await guestCall(ep, "GET", path, 2000) : undefined;
  if (r?.status === 200) return true;
  if (r?.status === 404) return false;
  return undefined;
}
