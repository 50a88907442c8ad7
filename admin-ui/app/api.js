// JSON calls to the REST API. Errors come back as {error: {code, message}}.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(`/api/v1${path}`, init);
  if (resp.status === 204) return null;
  let json = null;
  try { json = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) {
    throw new ApiError(resp.status, json?.error?.code ?? 'internal', json?.error?.message ?? resp.statusText);
  }
  return json;
}
