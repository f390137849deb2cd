// Shared by the parser tests: feeding chunks and turning the event stream into
// one record per frame, checking on the way the invariants every consumer
// relies on.

import assert from "node:assert/strict";
import type {
  DataEvent,
  FrameParser,
  MessageType,
  ParserEvent,
} from "../../lib/protocol/parser.ts";
import { concat } from "../helpers/bytes.ts";

/** A data frame with its pieces joined, or a control event with its payload copied. */
export type FrameRecord =
  | {
    kind: "data";
    type: MessageType;
    data: Uint8Array;
    messageStart: boolean;
    messageEnd: boolean;
    compressed: boolean;
  }
  | { kind: "ping" | "pong"; data: Uint8Array }
  | { kind: "close"; code: number; reason: string };

/**
 * Collects a parser's events into frame records, asserting the piece
 * invariants: pieces of a frame are contiguous, non-empty unless the frame is
 * empty, and message and frame flags agree.
 */
export class Recorder {
  readonly records: FrameRecord[] = [];
  #pieces: Uint8Array[] = [];
  #first: DataEvent | undefined;
  #messageOpen = false;

  /** The event handler to give to `push`. */
  readonly onEvent = (event: ParserEvent): void => {
    if (event.kind !== "data") {
      assert.equal(this.#first, undefined, "control event inside a frame");
      this.records.push(
        event.kind === "close"
          ? { kind: "close", code: event.code, reason: event.reason }
          : { kind: event.kind, data: event.data.slice() },
      );
      return;
    }
    assert.equal(event.frameStart, this.#first === undefined);
    if (event.frameStart) {
      assert.equal(event.messageStart, !this.#messageOpen);
      this.#first = event;
      this.#messageOpen = true;
    } else {
      assert.equal(event.messageStart, false);
      assert.equal(event.type, this.#first!.type);
      assert.equal(event.compressed, this.#first!.compressed);
    }
    assert.ok(
      event.data.length > 0 || (event.frameStart && event.frameEnd),
      "empty piece in a non-empty frame",
    );
    assert.ok(!event.messageEnd || event.frameEnd, "message ends mid-frame");
    this.#pieces.push(event.data.slice());
    if (!event.frameEnd) return;
    const first = this.#first!;
    this.records.push({
      kind: "data",
      type: first.type,
      data: concat(this.#pieces),
      messageStart: first.messageStart,
      messageEnd: event.messageEnd,
      compressed: first.compressed,
    });
    this.#pieces = [];
    this.#first = undefined;
    if (event.messageEnd) this.#messageOpen = false;
  };
}

/**
 * Pushes copies of `chunks` (the parser unmasks in place) and returns the
 * frame records.
 */
export function parseChunks(
  parser: FrameParser,
  chunks: Uint8Array[],
): FrameRecord[] {
  const recorder = new Recorder();
  for (const chunk of chunks) parser.push(chunk.slice(), recorder.onEvent);
  return recorder.records;
}
