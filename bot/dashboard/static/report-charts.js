// Charts of the report and transparency pages. Data comes from <script type="application/json" id="report-data">
// (serialised server-side with |tojson); the same numbers are in the tables next to each chart.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("report-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var palette = ["#1f5f99", "#2e8b57", "#d98c00", "#6a3d9a", "#c0392b", "#16a085", "#7f8c8d", "#8e44ad",
                   "#2c3e50", "#d35400", "#27ae60", "#95a5a6"];
    function make(id, config) {
      var canvas = document.getElementById(id);
      if (canvas) { new Chart(canvas, config); }
    }
    var base = { responsive: true, maintainAspectRatio: false };
    if (data.category) {
      make("chart-category", { type: "bar", data: { labels: data.category.labels,
        datasets: [{ label: "Jumlah aduan", data: data.category.counts, backgroundColor: "#1f5f99" }] },
        options: Object.assign({ indexAxis: "y", plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }, base) });
    }
    if (data.status) {
      make("chart-status", { type: "doughnut", data: { labels: data.status.labels,
        datasets: [{ data: data.status.counts, backgroundColor: palette }] },
        options: Object.assign({ plugins: { legend: { position: "bottom" } } }, base) });
    }
    if (data.ikm && data.ikm.values.length) {
      make("chart-ikm", { type: "bar", data: { labels: data.ikm.labels,
        datasets: [{ label: "Nilai konversi unsur", data: data.ikm.values, backgroundColor: "#2e8b57" }] },
        options: Object.assign({ plugins: { legend: { display: false }, tooltip: { callbacks: {
          title: function (items) { return data.ikm.titles[items[0].dataIndex]; } } } },
          scales: { y: { min: 25, max: 100 } } }, base) });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
