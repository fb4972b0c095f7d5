// Charts as standalone SVG strings, with no dependencies: histograms (shared bins), ROC curves and
// line charts (training curves). Render them to PNG with writeSvgPng (svg-png.ts) or keep the SVG.
// Each chart lives in its own file; this module gathers them.
export { type Series, type LegendEntry, CHART_FONT_FAMILY, DEFAULT_COLORS } from "./chart-frame.ts";
export { type Ticks, niceStep, niceTicks, logTicks, formatTick } from "./chart-ticks.ts";
export { type HistogramSeries, type HistogramOptions, type HistogramBins, histogramBins, histogramDensity, histogramSvg } from "./histogram-chart.ts";
export { type RocCurve, type RocOptions, rocSvg, trapezoidArea } from "./roc-chart.ts";
export { type LineSeries, type LineChartOptions, lineChartSvg, thinPerColumn } from "./line-chart.ts";
