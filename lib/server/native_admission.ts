/**
 * The middleware's path through admission: the handshake and origin checks,
 * then limits and `authorize` (which may take time), then the upgrade.
 *
 * @module
 */

import { checkHandshake, isOriginAllowed } from "../protocol/handshake.ts";
import type { Socket } from "../socket/mod.ts";
import { acceptResolved, refuse } from "./accept.ts";
import type { Admission } from "./admission.ts";
import type { ResolvedServerOptions } from "./options.ts";

/**
 * Answers a WebSocket handshake on `Deno.serve` once admission lets it in;
 * `start` receives the socket, its `data` already set.
 */
export async function admitAndAccept(
  request: Request,
  info: Deno.ServeHandlerInfo,
  options: ResolvedServerOptions,
  admission: Admission,
  start: (socket: Socket) => void,
): Promise<Response> {
  // Checked before admission so that a bad handshake costs no check and
  // holds no slot; acceptResolved checks again, cheaply.
  const check = checkHandshake(request);
  const origin = request.headers.get("origin");
  const refusal = !check.ok
    ? refuse(check.status, check.message)
    : isOriginAllowed(origin, options.allowedOrigins)
    ? undefined
    : refuse(403, `Origin ${origin} is not allowed to open a WebSocket`);
  if (refusal !== undefined) {
    admission.refusedByChecks(refusal.status);
    return refusal;
  }
  const address = info.remoteAddr;
  const ticket = await admission.admit(
    request,
    "hostname" in address ? address.hostname : undefined,
  );
  if (ticket instanceof Response) return ticket;
  const { socket, response } = acceptResolved(request, options);
  if (socket === null) {
    ticket.release();
    admission.refusedByChecks(response.status);
    return response;
  }
  ticket.attach(socket);
  start(socket);
  return response;
}
