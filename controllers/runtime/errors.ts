// One place that turns a failed API call into something a reconciler can decide on.
// Errors come either from our REST client (ApiError) or from @kubernetes/client-node (ApiException,
// whose body is the JSON text of a metav1.Status).
import { ApiException } from "@kubernetes/client-node";

/** The fields of a metav1.Status that decisions are made on. */
export interface ApiStatus {
  code: number;
  /** metav1.StatusReason: NotFound, AlreadyExists, Conflict, Invalid, Forbidden, Gone, Expired, ... */
  reason: string;
  message: string;
}

/** A failed request to the API server, carrying the parsed metav1.Status. */
export class ApiError extends Error implements ApiStatus {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly method = "",
    readonly path = "",
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const reasonByCode: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Gone",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** Parses a response body (a metav1.Status, or anything) into an ApiStatus. */
export function statusFromBody(code: number, body: unknown): ApiStatus {
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
  }
  const s = (parsed && typeof parsed === "object" ? parsed : {}) as Partial<ApiStatus> & { kind?: string };
  return {
    code: typeof s.code === "number" && s.code > 0 ? s.code : code,
    reason: s.reason || reasonByCode[code] || "Unknown",
    message: s.message || (typeof body === "string" && body ? body.slice(0, 500) : `HTTP ${code}`),
  };
}

/** The ApiStatus of any error; network failures and other throws get code 0 and reason Unknown. */
export function apiStatus(e: unknown): ApiStatus {
  if (e instanceof ApiError) return e;
  if (e instanceof ApiException) return statusFromBody(e.code, e.body);
  return { code: 0, reason: "Unknown", message: e instanceof Error ? e.message : String(e) };
}

export const isNotFound = (e: unknown): boolean => apiStatus(e).code === 404;
export const isAlreadyExists = (e: unknown): boolean => apiStatus(e).reason === "AlreadyExists";
export const isConflict = (e: unknown): boolean => apiStatus(e).reason === "Conflict";
/** 410: the watch's resourceVersion is too old (compacted); the informer must relist. */
export const isGone = (e: unknown): boolean => {
  const s = apiStatus(e);
  return s.code === 410 || s.reason === "Expired" || s.reason === "Gone";
};
/** 401/403: the identity or its RBAC; usually for the operator to fix, but also what a kube-apiserver
 *  that has just restarted answers until its RBAC caches sync. */
export const isAuthError = (e: unknown): boolean => [401, 403].includes(apiStatus(e).code);
/**
 * What a retry may cure: no answer (the API server restarting), 429, 5xx (among them 503 "before
 * all known HTTP paths have been installed" while it starts) and auth errors (see isAuthError).
 */
export const isTransient = (e: unknown): boolean => {
  const { code } = apiStatus(e);
  return code === 0 || code === 429 || code >= 500 || code === 401 || code === 403;
};
export const isInvalid = (e: unknown): boolean => apiStatus(e).code === 422;

/** For `.catch(ignoreNotFound)`: a NotFound is no failure (the object is gone already); anything else is. */
export function ignoreNotFound(e: unknown): undefined {
  if (isNotFound(e)) return undefined;
  throw e;
}

/** For `.catch(ignoreAlreadyExists)`: somebody (or an earlier run of ours) made it first. */
export function ignoreAlreadyExists(e: unknown): undefined {
  if (isAlreadyExists(e)) return undefined;
  throw e;
}
