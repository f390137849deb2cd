/**
 * The floor on `node:net`: see `bench/servers/transport_floor.ts`.
 *
 *     deno run -A bench/servers/floor_node_net.ts [--port 8080] [--hostname 127.0.0.1]
 *
 * @module
 */

import { serveFloor } from "./transport_floor.ts";

serveFloor("node:net");
