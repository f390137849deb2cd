/**
 * The Prometheus text exposition format (version 0.0.4), written out
 * directly: a few lines per metric need no client library.
 *
 * @module
 */

import type { MetricFamily } from "./metrics.ts";

/** The content type Prometheus expects for the text format. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/**
 * Writes metric families in the Prometheus text format: `# HELP` and
 * `# TYPE` lines, then one line per series.
 *
 * @example
 * ```ts
 * import { prometheusText } from "@socketry/socketry";
 *
 * const text = prometheusText([{
 *   name: "jobs_total",
 *   help: "Jobs done.",
 *   type: "counter",
 *   samples: [{ labels: { queue: "mail" }, value: 3 }],
 * }]);
 * console.log(text.split("\n")[2]); // jobs_total{queue="mail"} 3
 * ```
 */
export function prometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const { name, help, type, samples } of families) {
    lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const { labels, value } of samples) {
      const pairs = Object.entries(labels).map(([label, text]) =>
        `${label}="${escapeLabel(text)}"`
      );
      const series = pairs.length === 0 ? name : `${name}{${pairs.join(",")}}`;
      lines.push(`${series} ${formatValue(value)}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/**
 * A request handler that answers with the metrics `read()` returns, in the
 * Prometheus text format; mount it on any path (`GET /metrics` as a rule).
 * Methods other than GET and HEAD get 405.
 *
 * @example Beside a WebSocket route
 * ```ts
 * import { metricsHandler, ServerMetrics, webSockets } from "@socketry/socketry";
 *
 * const metrics = new ServerMetrics();
 * const scrape = metricsHandler(metrics);
 * const handler = webSockets({ path: "/ws", metrics }, (socket) => {
 *   socket.addEventListener("message", ({ data }) => socket.send(data));
 * }, (request) =>
 *   new URL(request.url).pathname === "/metrics"
 *     ? scrape(request)
 *     : new Response("Not Found", { status: 404 }));
 * // Deno.serve(handler);
 * const response = scrape(new Request("http://localhost/metrics"));
 * console.log((await response.text()).includes("socketry_connections_open 0")); // true
 * ```
 */
export function metricsHandler(
  source: { read(): readonly MetricFamily[] },
): (request: Request) => Response {
  return (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    const body = request.method === "HEAD"
      ? null
      : prometheusText(source.read());
    return new Response(body, {
      headers: {
        "content-type": PROMETHEUS_CONTENT_TYPE,
        "cache-control": "no-store",
      },
    });
  };
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabel(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
