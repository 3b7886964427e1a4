/** The value of one series in a Prometheus text exposition, e.g. `tether_joins_total{pattern="room:*"}`. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
