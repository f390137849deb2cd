/**
 * A body-less request as one string, for what must keep a request for as
 * long as a socket lives: one flat string costs a fraction of a `Request`,
 * of a `Headers` or of its fields as separate strings (each an object of its
 * own, and a field cut from the request's head keeps that whole head alive).
 *
 * @module
 */

// No method, URL, header name or header value can contain a line feed.
const LINE = "\n";

/** The method, URL and header fields of `request`, as one string. */
export function requestText(request: Request): string {
  const parts = [request.method, request.url];
  request.headers.forEach((value, name) => parts.push(name, value));
  return parts.join(LINE);
}

/** The request `requestText` made `text` of, without its body. */
export function requestOfText(text: string): Request {
  const [method = "GET", url = "", ...fields] = text.split(LINE);
  const headers = new Headers();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    headers.append(fields[i]!, fields[i + 1]!);
  }
  return new Request(url, { method, headers });
}
