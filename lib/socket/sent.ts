/**
 * The promise every send written at once returns: one settled promise
 * serves them all, and a broadcast that sees it knows the send was taken
 * without attaching a handler to it.
 *
 * @module
 */

/** Returned by `send()` when the data went to the transport at once. */
export const SENT: Promise<void> = Promise.resolve();
