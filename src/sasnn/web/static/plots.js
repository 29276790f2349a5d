// Plots for the sasnn page, on uPlot (vendored, MIT): zoom by dragging, values under the
// cursor in the legend, error bars drawn by a hook (uPlot has none of its own).
(function () {
"use strict";

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];

// Several (x, ys) tables on one sorted x (uPlot wants one x array); missing values are null.
function align(tables) {
  const xs = [...new Set(tables.flatMap(t => t.x))].sort((a, b) => a - b);
  const where = new Map(xs.map((x, i) => [x, i]));
  const columns = [];
  for (const t of tables) {
    for (const y of t.ys) {
      const column = new Array(xs.length).fill(null);
      t.x.forEach((x, i) => { column[where.get(x)] = y[i]; });
      columns.push(column);
    }
  }
  return [xs, ...columns];
}

// errors[k] is the ±σ column of series k (or absent); drawn as vertical bars, clipped to the plot.
function errorBarHook(errors, logY) {
  return u => {
    const ctx = u.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    ctx.lineWidth = 1;
    for (const [k, sigma] of Object.entries(errors)) {
      if (!sigma || !u.series[k].show) continue;
      ctx.strokeStyle = u.series[k].stroke ? u.series[k].stroke() : "#555";
      ctx.beginPath();
      const xs = u.data[0], ys = u.data[k];
      for (let i = 0; i < xs.length; i++) {
        const y = ys[i], s = sigma[i];
        if (y == null || s == null) continue;
        const low = logY ? Math.max(y - s, y * 1e-3) : y - s;
        const px = u.valToPos(xs[i], "x", true);
        ctx.moveTo(px, u.valToPos(low, "y", true));
        ctx.lineTo(px, u.valToPos(y + s, "y", true));
      }
      ctx.stroke();
    }
    ctx.restore();
  };
}

function pointsSeries(label, colour) {
  return {label, stroke: colour, fill: colour, width: 0, paths: () => null,
    points: {show: true, size: 4, stroke: colour, fill: colour}, value: (u, v) => fmt(v)};
}

function lineSeries(label, colour, dash) {
  return {label, stroke: colour, width: 1.6, dash, spanGaps: true, points: {show: false},
    value: (u, v) => fmt(v)};
}

function fmt(v) {
  return v == null ? "–" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(3)
    : v.toPrecision(4);
}

const tick = v => v == null ? "" : Number(v.toPrecision(6)).toString();

// One plot: spec = {x: {label, log}, y: {label, log}, series: [...], data, errors, height, sync}
function makePlot(target, spec) {
  target.replaceChildren();
  const width = Math.max(320, target.clientWidth || 600);
  const opts = {
    width, height: spec.height || 320,
    scales: {x: {time: false, distr: spec.x.log ? 3 : 1}, y: {distr: spec.y.log ? 3 : 1}},
    axes: [{label: spec.x.label, values: (u, v) => v.map(tick)},
      {label: spec.y.label, size: 60, values: (u, v) => v.map(tick)}],
    series: [{label: spec.x.label, value: (u, v) => fmt(v)}, ...spec.series],
    cursor: {drag: {x: true, y: true, uni: 30}, sync: spec.sync ? {key: spec.sync} : undefined},
    hooks: {draw: [errorBarHook(spec.errors || {}, spec.y.log)]},
    legend: {live: true},
  };
  const plot = new uPlot(opts, spec.data, target);
  target.uplot = plot;
  return plot;
}

// I(q) on log axes with the fits overlaid, and the residuals (I − fit)/σ below on the same q.
function plotCurves(iqTarget, resTarget, item) {
  const tables = [], series = [], errors = {};
  let k = 1;
  item.curves.forEach((curve, c) => {
    const ys = [curve.intensity];
    series.push(pointsSeries(item.curves.length > 1 ? curve.entry || `entry ${c + 1}` : "data",
      c === 0 ? "#333" : "#888"));
    errors[k++] = null;
    item.fits.forEach((fit, f) => {
      if (!fit.curves.length) return;
      ys.push(fit.curves[c].intensity);
      series.push(lineSeries(c === 0 ? `fit ${fit.name}` : "", COLOURS[f % COLOURS.length]));
      k++;
    });
    tables.push({x: curve.q, ys});
  });
  const data = align(tables);
  // the data columns of each curve come first in its table: attach their σ after aligning
  const sigmaTables = item.curves.map(curve => ({x: curve.q, ys: [curve.sigma || curve.q.map(() => null)]}));
  const sigmas = align(sigmaTables).slice(1);
  let column = 1;
  item.curves.forEach((curve, c) => {
    errors[column] = sigmas[c];
    column += 1 + item.fits.filter(f => f.curves.length).length;
  });
  const iq = makePlot(iqTarget, {x: {label: "q (Å⁻¹)", log: true}, y: {label: "I(q) (cm⁻¹)", log: true},
    series, data, errors, height: 340, sync: `iq-${item.index}`});
  iqTarget.dataset.fits = String(item.fits.filter(f => f.curves.length).length);
  resTarget.replaceChildren();
  if (!item.fits.length) return;
  const resTables = [], resSeries = [];
  item.curves.forEach((curve, c) => {
    const ys = [];
    item.fits.forEach((fit, f) => {
      if (!fit.curves.length || !fit.curves[c].residual) return;
      ys.push(fit.curves[c].residual);
      resSeries.push(pointsSeries(c === 0 ? fit.name : "", COLOURS[f % COLOURS.length]));
    });
    resTables.push({x: curve.q, ys});
  });
  const res = makePlot(resTarget, {x: {label: "q (Å⁻¹)", log: true}, y: {label: "(I − fit)/σ", log: false},
    series: resSeries, data: align(resTables), height: 170, sync: `iq-${item.index}`});
  // zooming q on one plot zooms the other
  let busy = false;
  for (const [a, b] of [[iq, res], [res, iq]]) {
    a.hooks.setScale = a.hooks.setScale || [];
    a.hooks.setScale.push((u, key) => {
      if (key !== "x" || busy) return;
      busy = true;
      b.setScale("x", {min: u.scales.x.min, max: u.scales.x.max});
      busy = false;
    });
  }
}

function plotPr(prTarget, guinierTarget, answer) {
  const rec = answer.record;
  const upper = rec.p.map((p, i) => p + rec.p_sigma[i]);
  const lower = rec.p.map((p, i) => p - rec.p_sigma[i]);
  makePlot(prTarget, {x: {label: "r (Å)"}, y: {label: "p(r)"}, height: 300,
    series: [lineSeries("p(r)", COLOURS[0]), lineSeries("+1σ", "#9ab", [4, 3]), lineSeries("−1σ", "#9ab", [4, 3])],
    data: [rec.r, rec.p, upper, lower]});
  guinierTarget.replaceChildren();
  if (!answer.guinier) {
    guinierTarget.textContent = "no Guinier range found";
    return;
  }
  const g = answer.guinier;
  makePlot(guinierTarget, {x: {label: "q² (Å⁻²)"}, y: {label: "ln I"}, height: 300,
    series: [pointsSeries("data", "#333"), lineSeries("Guinier fit", COLOURS[3])],
    data: [g.q2, g.ln_i, g.line], errors: {1: g.ln_sigma}});
}

window.sasnnPlots = {plotCurves, plotPr, fmt};
})();
