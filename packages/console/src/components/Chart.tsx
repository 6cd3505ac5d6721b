import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly colour: string;
}

/** A time-series line chart (uPlot); `times` in seconds since the epoch. Labelled as an image with a summary. */
export default function Chart(props: {
  title: string;
  times: readonly number[];
  series: readonly Series[];
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(320, el.clientWidth || 600);
    const plot = new uPlot(
      {
        width,
        height: props.height ?? 200,
        series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.colour, width: 2 }))],
        axes: [{}, { size: 50 }],
        legend: { show: true },
      },
      [props.times as number[], ...props.series.map((s) => s.values as (number | null)[])],
      el,
    );
    return () => plot.destroy();
  }, [props.times, props.series, props.height]);
  const last = props.series.map((s) => `${s.label} ${s.values.at(-1) ?? '—'}`).join(', ');
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} role="img" aria-label={`${props.title}; latest: ${last}`} />
    </figure>
  );
}
