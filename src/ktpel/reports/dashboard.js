// Charts drawn by Chart.js from the same JSON as the tables. Greys, dashes and fill patterns (not colour
// alone) tell the series apart, so a black-and-white printout of the page still reads.
(function () {
  const data = JSON.parse(document.getElementById('dashboard-data').textContent);
  const lang = document.documentElement.lang === 'en' ? 'en' : 'id';
  const greys = ['#111111', '#555555', '#999999', '#333333'];
  function pattern(kind, colour) {
    if (kind === 'solid' || !kind) return colour;
    if (kind === 'none') return 'rgba(255,255,255,0)';
    const c = document.createElement('canvas'); c.width = c.height = 8;
    const g = c.getContext('2d');
    g.fillStyle = '#ffffff'; g.fillRect(0, 0, 8, 8);
    g.strokeStyle = colour; g.fillStyle = colour; g.lineWidth = 1.5;
    if (kind === 'hatch') { g.beginPath(); g.moveTo(0, 8); g.lineTo(8, 0); g.stroke(); }
    if (kind === 'dots') { g.beginPath(); g.arc(4, 4, 1.6, 0, 2 * Math.PI); g.fill(); }
    return g.createPattern(c, 'repeat');
  }
  window.ktpelCharts = {};
  for (const [id, p] of Object.entries(data.panels)) {
    const el = document.getElementById('chart-' + id);
    if (!el || !p.chart) continue;
    const labels = p.rows.map(r => r[p.chart.x]);
    const datasets = p.chart.series.map((s, i) => ({
      label: lang === 'en' ? s.label_en : s.label_id,
      data: p.rows.map(r => r[s.key]),
      borderColor: greys[i % greys.length],
      borderDash: s.dash || [],
      borderWidth: p.chart.kind === 'line' ? 2 : 1,
      pointRadius: p.chart.kind === 'line' ? 1.5 : 0,
      pointStyle: ['circle', 'rect', 'triangle', 'crossRot'][i % 4],
      backgroundColor: p.chart.kind === 'bar' ? pattern(s.pattern, greys[i % greys.length]) : greys[i % greys.length],
      spanGaps: true,
    }));
    window.ktpelCharts[id] = new Chart(el, {
      type: p.chart.kind,
      data: { labels, datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { labels: { usePointStyle: p.chart.kind === 'line' } } },
        scales: {
          x: { stacked: p.chart.stacked },
          y: { stacked: p.chart.stacked, beginAtZero: true,
               title: { display: !!p.chart.y_label_id, text: lang === 'en' ? p.chart.y_label_en : p.chart.y_label_id } },
        },
      },
    });
  }
  document.body.dataset.chartsReady = String(Object.keys(window.ktpelCharts).length);
})();
