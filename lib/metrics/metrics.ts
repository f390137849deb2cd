/**
 * A small registry of counters and gauges with labels: what an operator
 * scrapes, kept as plain numbers and read as plain objects.
 *
 * @module
 */

/** Label names and values of one series, such as `{ code: "1000" }`. */
export type Labels = Readonly<Record<string, string>>;

/** Whether a value only grows (`counter`) or goes up and down (`gauge`). */
export type MetricType = "counter" | "gauge";

/** One series of a metric: its labels and its current value. */
export interface MetricSample {
  /** The labels that tell this series apart (empty for an unlabelled metric). */
  readonly labels: Labels;
  /** The current value. */
  readonly value: number;
}

/** A metric with all its series, as read at one moment. */
export interface MetricFamily {
  /** The name, such as `socketry_connections_open`. */
  readonly name: string;
  /** One line saying what it counts. */
  readonly help: string;
  /** Counter or gauge. */
  readonly type: MetricType;
  /** Its series. */
  readonly samples: readonly MetricSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The series of one metric, by labels. */
class SeriesValues {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(readonly name: string) {
    if (!NAME.test(name)) throw new TypeError(`Invalid metric name ${name}`);
  }

  add(labels: Labels, by: number): void {
    this.#entry(labels).value += by;
  }

  put(labels: Labels, value: number): void {
    this.#entry(labels).value = value;
  }

  get(labels: Labels): number {
    return this.#values.get(key(labels))?.value ?? 0;
  }

  samples(): MetricSample[] {
    return [...this.#values.values()].map(({ labels, value }) => ({
      labels,
      value,
    }));
  }

  #entry(labels: Labels): { labels: Labels; value: number } {
    const id = key(labels);
    let entry = this.#values.get(id);
    if (entry === undefined) {
      for (const name of Object.keys(labels)) {
        if (!LABEL.test(name) || name.startsWith("__")) {
          throw new TypeError(`Invalid label name ${name} on ${this.name}`);
        }
      }
      entry = { labels: { ...labels }, value: 0 };
      this.#values.set(id, entry);
    }
    return entry;
  }
}

function key(labels: Labels): string {
  return JSON.stringify(
    Object.entries(labels).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0),
  );
}

/** A value that only grows. */
export class Counter {
  /** Always `"counter"`. */
  readonly type = "counter";
  readonly #values: SeriesValues;

  /** Creates a counter; register it with {@linkcode Metrics.counter} instead. */
  constructor(readonly name: string, readonly help: string) {
    this.#values = new SeriesValues(name);
  }

  /** Adds `by` (default 1, never negative) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) {
      throw new RangeError(`${this.name}: a counter cannot grow by ${by}`);
    }
    this.#values.add(labels, by);
  }

  /** The value of one series (0 when it has never been touched). */
  get(labels: Labels = {}): number {
    return this.#values.get(labels);
  }

  /** The metric with all its series. */
  read(): MetricFamily {
    const { name, help, type } = this;
    return { name, help, type, samples: this.#values.samples() };
  }
}

/** A value that goes up and down. */
export class Gauge {
  /** Always `"gauge"`. */
  readonly type = "gauge";
  readonly #values: SeriesValues;

  /** Creates a gauge; register it with {@linkcode Metrics.gauge} instead. */
  constructor(readonly name: string, readonly help: string) {
    this.#values = new SeriesValues(name);
  }

  /** Sets the series of `labels` to `value`. */
  set(labels: Labels, value: number): void {
    this.#values.put(labels, value);
  }

  /** Adds `by` (default 1; may be negative) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    this.#values.add(labels, by);
  }

  /** The value of one series (0 when it has never been touched). */
  get(labels: Labels = {}): number {
    return this.#values.get(labels);
  }

  /** The metric with all its series. */
  read(): MetricFamily {
    const { name, help, type } = this;
    return { name, help, type, samples: this.#values.samples() };
  }
}

/**
 * A registry of metrics. Counters and gauges are created once by name; a
 * collector computes families when they are read (for values that live
 * elsewhere, such as the state of a backplane).
 *
 * @example Count requests by status
 * ```ts
 * import { Metrics, prometheusText } from "@socketry/socketry";
 *
 * const metrics = new Metrics();
 * const requests = metrics.counter("app_requests_total", "Requests answered.");
 * requests.inc({ status: "200" });
 * console.log(prometheusText(metrics.read()));
 * ```
 */
export class Metrics {
  readonly #series = new Map<string, Counter | Gauge>();
  readonly #collectors: (() => readonly MetricFamily[])[] = [];

  /** The counter named `name`, created with `help` the first time. */
  counter(name: string, help: string): Counter {
    return this.#register(name, () => new Counter(name, help), Counter);
  }

  /** The gauge named `name`, created with `help` the first time. */
  gauge(name: string, help: string): Gauge {
    return this.#register(name, () => new Gauge(name, help), Gauge);
  }

  /** Adds families computed on each read. */
  collect(collector: () => readonly MetricFamily[]): void {
    this.#collectors.push(collector);
  }

  /** Every metric as it is now. */
  read(): MetricFamily[] {
    return [
      ...[...this.#series.values()].map((series) => series.read()),
      ...this.#collectors.flatMap((collect) => collect()),
    ];
  }

  #register<T extends Counter | Gauge>(
    name: string,
    create: () => T,
    kind: new (name: string, help: string) => T,
  ): T {
    const existing = this.#series.get(name);
    if (existing !== undefined) {
      if (!(existing instanceof kind)) {
        throw new TypeError(`${name} is already a ${existing.type}`);
      }
      return existing;
    }
    const series = create();
    this.#series.set(name, series);
    return series;
  }
}
