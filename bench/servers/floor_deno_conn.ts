/**
 * The floor on `Deno.Conn`: see `bench/servers/transport_floor.ts`.
 *
 *     deno run -A bench/servers/floor_deno_conn.ts [--port 8080] [--hostname 127.0.0.1]
 *
 * @module
 */

import { serveFloor } from "./transport_floor.ts";

serveFloor("Deno.Conn");
