/**
 * Scale-out through Redis: the Redis backplane, and with it the backplane
 * interface and helpers of the main entry point. This is the only entry
 * point of socketry that loads a Redis client (node-redis, from npm).
 *
 * @example
 * ```ts
 * import { RedisBackplane } from "@socketry/socketry/redis";
 *
 * const backplane = new RedisBackplane({ url: "redis://127.0.0.1:6379" });
 * console.log(backplane.state); // "connecting", then "ready"
 * await backplane.close();
 * ```
 *
 * @module
 */

export * from "./mod.ts";
export { RedisBackplane, type RedisBackplaneOptions } from "./redis.ts";
