// Draws every Plotly figure on the page from its JSON data block. External file, so the
// Content-Security-Policy can keep forbidding inline script.
document.querySelectorAll("script[type='application/json'][data-chart]").forEach(function (block) {
  var target = document.getElementById(block.dataset.chart);
  if (!target || !window.Plotly) { return; }
  var figure = JSON.parse(block.textContent);
  window.Plotly.newPlot(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
});
