// Client of the analytics JSON API (/dashboard/api/..., described in insight/analytics/).

export const API = "/dashboard/api";
export const FILTER_KEYS = ["from", "to", "channel", "intent", "category", "segment", "language"];

/** An error the API answered with (its message is shown to the supervisor as text). */
export class ApiError extends Error {
  constructor(status, message, param = null) {
    super(message);
    this.status = status;
    this.param = param;
  }
}

/** Query string of the non-empty ``params``. */
export function query(params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** GET ``path`` under the API as JSON; signs out to the login page when the session ended. */
export async function getJson(path, params = {}) {
  const response = await fetch(`${API}/${path}${query(params)}`, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (response.status === 401) {
    window.location.assign("/console/login");
    throw new ApiError(401, "Signed out: sign in again.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = (body && body.error) || `The server answered ${response.status}.`;
    throw new ApiError(response.status, message, body && body.param);
  }
  return body;
}

/** Link of the CSV export of ``path`` (a measure, "conversations", "segments", ...). */
export function csvUrl(path, params = {}) {
  return `${API}/${path}.csv${query(params)}`;
}
