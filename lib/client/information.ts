/**
 * What a message or stream socket tells about itself: addresses,
 * the negotiated protocol and extensions, and bandwidth statistics with
 * recent rates.
 *
 * @module
 */

import type { EngineSocket } from "../engine/engine_socket.ts";

/** Bytes and messages each way, and the recent rates. */
export interface BandwidthStatistics {
  /** Payload bytes sent. */
  readonly bytesSent: number;
  /** Payload bytes received. */
  readonly bytesReceived: number;
  /** Whole messages sent. */
  readonly messagesSent: number;
  /** Whole messages received. */
  readonly messagesReceived: number;
  /** Payload bits per second sent, over the last one to two seconds. */
  readonly outboundBitsPerSecond: number;
  /** Payload bits per second received, over the last one to two seconds. */
  readonly inboundBitsPerSecond: number;
}

/** A read-only snapshot of a socket's connection. */
export interface SocketInformation {
  /** The local address as `host:port`, once connected. */
  readonly localAddress: string | undefined;
  /** The server's address as `host:port`, once connected. */
  readonly remoteAddress: string | undefined;
  /** The subprotocol the server selected, or `""`. */
  readonly protocol: string;
  /** The extensions the server accepted, or `""`. */
  readonly extensions: string;
  /** Traffic counters and rates. */
  readonly bandwidth: BandwidthStatistics;
}

interface Sample {
  readonly at: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

const WINDOW = 1000;
const ZERO: Sample = { at: 0, bytesSent: 0, bytesReceived: 0 };

/**
 * Keeps two samples of the byte counters so that rates cover the last one
 * to two seconds without a timer: each read moves the window forward.
 */
export class InformationReader {
  #base: Sample | undefined;
  #middle: Sample | undefined;

  /** A snapshot of `socket`, or of nothing yet when it is not connected. */
  read(
    socket: EngineSocket | undefined,
    now = performance.now(),
  ): SocketInformation {
    if (socket === undefined) {
      return {
        localAddress: undefined,
        remoteAddress: undefined,
        protocol: "",
        extensions: "",
        bandwidth: {
          bytesSent: 0,
          bytesReceived: 0,
          messagesSent: 0,
          messagesReceived: 0,
          outboundBitsPerSecond: 0,
          inboundBitsPerSecond: 0,
        },
      };
    }
    const stats = socket.stats;
    const current: Sample = {
      at: now,
      bytesSent: stats.bytesSent,
      bytesReceived: stats.bytesReceived,
    };
    this.#base ??= { ...ZERO, at: now };
    this.#middle ??= this.#base;
    if (now - this.#middle.at >= WINDOW) {
      this.#base = this.#middle;
      this.#middle = current;
    }
    const base = this.#base;
    const seconds = (now - base.at) / 1000;
    const rate = (bytes: number) =>
      seconds > 0 ? Math.round((bytes * 8) / seconds) : 0;
    return {
      localAddress: socket.localAddress,
      remoteAddress: socket.remoteAddress,
      protocol: socket.protocol,
      extensions: socket.extensions,
      bandwidth: {
        bytesSent: stats.bytesSent,
        bytesReceived: stats.bytesReceived,
        messagesSent: stats.messagesSent,
        messagesReceived: stats.messagesReceived,
        outboundBitsPerSecond: rate(current.bytesSent - base.bytesSent),
        inboundBitsPerSecond: rate(current.bytesReceived - base.bytesReceived),
      },
    };
  }

  /** Starts the rate window when the socket connects. */
  start(now = performance.now()): void {
    this.#base = { ...ZERO, at: now };
    this.#middle = this.#base;
  }
}
