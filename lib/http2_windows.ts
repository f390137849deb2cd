/**
 * The receive windows of socketry's HTTP/2 connections, client and server
 * alike: large enough that a WebSocket stream is not held back by flow
 * control on a fast link, small enough that a slow reader bounds memory.
 *
 * @module
 */

/** The receive window of each HTTP/2 stream (one WebSocket), in bytes. */
export const HTTP2_STREAM_WINDOW = 256 * 1024;

/** The receive window of a whole HTTP/2 connection, in bytes. */
export const HTTP2_CONNECTION_WINDOW = 8 * 1024 * 1024;
