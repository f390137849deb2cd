/**
 * A worker holding a BroadcastChannel backplane, driven by its parent:
 * it subscribes, publishes numbered messages, and reports what arrived.
 *
 * @module
 */

import { BroadcastChannelBackplane } from "../../lib/backplane/broadcast_channel.ts";
import type { Target } from "../../lib/backplane/target.ts";

/** A command from the test. */
export type WorkerCommand =
  | { op: "start"; channel: string; totalOrder?: boolean }
  | { op: "subscribe"; target: Target }
  | { op: "unsubscribe"; target: Target }
  | {
    op: "publish";
    target: Target;
    count: number;
    binary?: boolean;
    /** Asks for each publication back, recorded among the arrivals. */
    echo?: boolean;
    /** Numbers the messages from here (default 1). */
    from?: number;
  }
  | { op: "report" }
  | { op: "close" };

/** What the worker tells the test. */
export type WorkerReply =
  | { op: "started"; id: string }
  | { op: "done" }
  | {
    op: "report";
    arrived: { origin: string; seq: number; target: string; data: string }[];
    stats: BroadcastChannelBackplane["stats"];
  };

let backplane: BroadcastChannelBackplane | undefined;
const arrived: {
  origin: string;
  seq: number;
  target: string;
  data: string;
}[] = [];
const self = globalThis as unknown as {
  onmessage: (event: MessageEvent<WorkerCommand>) => void;
  postMessage: (reply: WorkerReply) => void;
  close: () => void;
};

self.onmessage = async ({ data: command }) => {
  switch (command.op) {
    case "start":
      backplane = new BroadcastChannelBackplane({
        channel: command.channel,
        totalOrder: command.totalOrder ?? false,
      });
      await backplane.ready;
      backplane.onMessage((envelope) =>
        arrived.push({
          origin: envelope.origin,
          seq: envelope.seq,
          target: envelope.target.kind === "all"
            ? "all"
            : `${envelope.target.kind}:${envelope.target.name}`,
          data: typeof envelope.data === "string"
            ? envelope.data
            : `bytes:${envelope.data.join(",")}`,
        })
      );
      return self.postMessage({ op: "started", id: backplane.id });
    case "subscribe":
      backplane!.subscribe(command.target);
      return self.postMessage({ op: "done" });
    case "unsubscribe":
      backplane!.unsubscribe(command.target);
      return self.postMessage({ op: "done" });
    case "publish": {
      const from = command.from ?? 1;
      for (let i = from; i < from + command.count; i++) {
        const data = command.binary ? new Uint8Array([i & 255]) : `m${i}`;
        const origin = backplane!.id;
        await backplane!.publish({
          target: command.target,
          data,
          ...(command.echo
            ? {
              echo: () =>
                arrived.push({
                  origin,
                  seq: 0,
                  target: "echo",
                  data: String(data),
                }),
            }
            : {}),
        });
      }
      return self.postMessage({ op: "done" });
    }
    case "report":
      return self.postMessage({
        op: "report",
        arrived: arrived.splice(0),
        stats: backplane!.stats,
      });
    case "close":
      await backplane!.close();
      self.postMessage({ op: "done" });
      return self.close();
  }
};
