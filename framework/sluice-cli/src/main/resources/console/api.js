// The console's JSON API. Every failure is {error, exit_code}; it is thrown as an ApiError.

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function parse(res) {
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    throw new ApiError('the console answered ' + res.status + ' without JSON', res.status, null);
  }
  if (!res.ok) throw new ApiError(body && body.error ? body.error : 'HTTP ' + res.status, res.status, body);
  return body;
}

export async function get(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new ApiError('the console does not answer: is sluice ui still running?', 0, null);
  }
  return parse(res);
}

/** A write: JSON body plus the header the console requires against cross-site requests. */
export async function post(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Sluice-Console': '1', Accept: 'application/json' },
      body: JSON.stringify(body || {}),
    });
  } catch (e) {
    throw new ApiError('the console does not answer: is sluice ui still running?', 0, null);
  }
  return parse(res);
}

export function q(name) {
  return '/api/queues/' + encodeURIComponent(name);
}
