document.querySelectorAll("table.sortable th").forEach(function (th, column) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], up = th.dataset.order !== "asc";
    th.closest("tr").querySelectorAll("th").forEach(function (o) { delete o.dataset.order; });
    th.dataset.order = up ? "asc" : "desc";
    function key(row) {
      var cell = row.cells[column], text = cell.dataset.sort || cell.textContent;
      var number = parseFloat(text);
      return isNaN(number) ? text.toLowerCase() : number;
    }
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});
