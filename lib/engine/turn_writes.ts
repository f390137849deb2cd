/**
 * Writes held until the end of the event-loop turn, for every socket of
 * the process on one `setImmediate`. What a socket is sent in one turn
 * (replies to what it read, the frames of a broadcast) then leaves in one
 * write: a timer per socket would cost every member of a broadcast an
 * immediate, and Node's own cork keeps an entry per chunk for its writev.
 *
 * @module
 */

import { setImmediate } from "node:timers";

/** Something holding writes until the turn ends. */
export interface TurnWriter {
  /** Writes what it held; called once per {@linkcode flushAtTurnEnd}. */
  flushTurn(): void;
}

let holding: TurnWriter[] = [];
let scheduled = false;

/** Has `writer.flushTurn()` called at the end of this event-loop turn. */
export function flushAtTurnEnd(writer: TurnWriter): void {
  holding.push(writer);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushAll);
}

function flushAll(): void {
  scheduled = false;
  const writers = holding;
  holding = [];
  for (const writer of writers) writer.flushTurn();
}
