/**
 * The request a native socket's handler gets. Deno closes a request the
 * moment it upgrades it (reading its headers then throws), and copying it
 * into a new `Request` costs about a quarter of a native handshake: 25 to
 * 35 µs of server CPU per connection, measured with the echo sample under
 * handshake load, where the copy itself takes 5 µs and the rest is what a
 * second kind of `Request` costs Deno's own request handling. So the
 * handler gets a stand-in that copies only when it must:
 *
 * - the headers are read once, before the upgrade, as flat strings, and
 *   become a `Headers` on first use;
 * - `url` and `method` come from the original, which Deno keeps;
 * - anything else (`signal`, `clone()`, the body, a property set on it)
 *   goes to a copy made on first need, as a copy made before the upgrade
 *   would have answered.
 *
 * @module
 */

/** A request Deno is about to upgrade, and its headers read beforehand. */
export interface OpeningRequest {
  /** Stands in for the request; readable after the upgrade. */
  readonly request: Request;
  /** The header fields, names and values in turn, as Deno gave them. */
  readonly fields: readonly string[];
}

/** Reads what the handler may need of `request` before Deno closes it. */
export function openingRequest(request: Request): OpeningRequest {
  const fields = headerFields(request.headers);
  return {
    request: new Proxy(request, new StandIn(request, fields)),
    fields,
  };
}

/** Header fields as flat strings: names and values in turn. */
export function headerFields(headers: Headers): string[] {
  const fields: string[] = [];
  headers.forEach((value, name) => fields.push(name, value));
  return fields;
}

/** The stand-in's traps; one object per request, no closures. */
class StandIn implements ProxyHandler<Request> {
  readonly #original: Request;
  readonly #fields: readonly string[];
  #headers: Headers | undefined;
  #copy: Request | undefined;

  constructor(original: Request, fields: readonly string[]) {
    this.#original = original;
    this.#fields = fields;
  }

  get(_target: Request, key: string | symbol): unknown {
    if (key === "headers") return this.#headersOf();
    if (key === "url" || key === "method") {
      return Reflect.get(this.#original, key, this.#original);
    }
    const copy = this.#copyOf();
    const value = Reflect.get(copy, key, copy);
    // Methods check that they run on a real Request: the copy.
    return typeof value === "function" ? value.bind(copy) : value;
  }

  set(_target: Request, key: string | symbol, value: unknown): boolean {
    const copy = this.#copyOf();
    return Reflect.set(copy, key, value, copy);
  }

  #headersOf(): Headers {
    if (this.#headers !== undefined) return this.#headers;
    const headers = new Headers();
    const fields = this.#fields;
    for (let i = 0; i < fields.length; i += 2) {
      headers.append(fields[i]!, fields[i + 1]!);
    }
    return this.#headers = headers;
  }

  #copyOf(): Request {
    return this.#copy ??= new Request(this.#original.url, {
      method: this.#original.method,
      headers: this.#headersOf(),
    });
  }
}
