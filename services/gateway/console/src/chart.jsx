// A uPlot line chart of one series over labelled points (e.g. quarters).
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export function Chart({ title, labels, values, unit, testid }) {
  const box = useRef(null);
  useEffect(() => {
    const x = labels.map((_, i) => i);
    const plot = new uPlot(
      {
        title,
        width: 460,
        height: 240,
        scales: { x: { time: false } },
        axes: [
          { values: (_, ticks) => ticks.map((t) => labels[t] ?? "") , incrs: [1] },
          { values: (_, ticks) => ticks.map((t) => `${t}${unit}`), size: 60 },
        ],
        series: [{}, { label: title, stroke: "#2563eb", width: 2, points: { size: 8 } }],
        legend: { show: false },
      },
      [x, values],
      box.current,
    );
    return () => plot.destroy();
  }, [title, labels.join(), values.join(), unit]);
  return <div class="chart" data-testid={testid} ref={box} />;
}
