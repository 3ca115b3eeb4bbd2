// Requests to the manager's /ui/api: login, logout, session, actions (with the CSRF header).
import type { ActionRequest, SessionInfo } from "../../controllers/ui/model.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new ApiError(res.status, data.error ?? `${res.status} ${res.statusText}`);
  return data as T;
}

export const session = () => call<SessionInfo>("GET", "api/session");
export const login = (token: string) => call<SessionInfo>("POST", "api/login", { token });
export const logout = () => call<{ ok: boolean }>("POST", "api/logout", {});
export const act = (s: SessionInfo, a: ActionRequest) =>
  call<{ ok: boolean }>("POST", "api/action", a, { "X-Pacific-CSRF": s.csrf });
