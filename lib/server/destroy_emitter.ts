/**
 * The error and timeout listener of server sockets and streams: drop the
 * connection.
 *
 * @module
 */

/**
 * Destroys the socket or stream it is called on. A plain function rather
 * than an arrow: a closure would keep the scope it was made in (the
 * request, the bytes of its head) alive as long as the connection.
 */
export function destroyEmitter(this: { destroy(): void }): void {
  this.destroy();
}
