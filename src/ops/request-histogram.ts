// http_request_duration_seconds, counted on every request (issue 15). prom-client's Histogram builds a label object
// and a hash string of the labels on every observe (0.45 µs, against 0.04 µs here: 2 % of a poll). This keeps one
// series per (method, route, status), found through nested maps without building anything, and gives prom-client's
// registry the same values as its Histogram would at scrape time (same names, labels, cumulative buckets, +Inf, _sum,
// _count, and the series in the order they first appeared), so the exposition text is unchanged.

interface Series {
  method: string;
  route: string;
  status: string;
  /** per bucket (not cumulative) */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface Sample {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
}

/** A histogram by method, route and status, registered in a prom-client Registry like any of its metrics. */
export class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** method → route → status → series, for observe */
  private index = new Map<string, Map<string, Map<number, Series>>>();
  /** every series in the order it first appeared, for the scrape (as prom-client lists them) */
  private series: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  observe(method: string, route: string, status: number, seconds: number) {
    let byRoute = this.index.get(method);
    if (!byRoute) this.index.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let s = byStatus.get(status);
    if (!s) {
      byStatus.set(status, (s = { method, route, status: String(status), counts: new Float64Array(this.buckets.length), sum: 0, count: 0 }));
      this.series.push(s);
    }
    s.sum += seconds;
    s.count += 1;
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]) {
        s.counts[i] += 1;
        break;
      }
    }
  }

  /** What prom-client's Registry reads when it scrapes (as from its own Histogram). */
  async get() {
    const values: Sample[] = [];
    for (const s of this.series) {
      const labels = { method: s.method, route: s.route, status: s.status };
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += s.counts[i];
        values.push({ labels: { le: this.buckets[i] }, sharedLabels: labels, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: labels, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: {}, sharedLabels: labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset() {
    this.index.clear();
    this.series = [];
  }
}
