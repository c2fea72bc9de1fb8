/* The public board's one script: search, filters and sort over the lists a page already shows.
 *
 * Progressive enhancement: every page is whole without it (every row, in the plan's order), and
 * its forms stay hidden. It reads nothing but the page, sends nothing, stores nothing and loads
 * nothing else. Each form.filtros names its list (data-para); the list's children carry the
 * data-* they are filtered and sorted on (data-estado="started", data-avance="50", empty when
 * there is no value: sorted last either way, never as 0). A form with data-direccion keeps its
 * choice in the page's address (?estado=started&vencido=1), so a filtered list can be shared.
 * Words come from the page (the labels, the count's data-plantilla), never from here.
 */
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function compare(a, b) {
    var x = parseFloat(a);
    var y = parseFloat(b);
    if (!isNaN(x) && !isNaN(y)) return x - y;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function setUp(form) {
    var list = document.getElementById(form.dataset.para);
    if (!list) return;
    var items = Array.prototype.slice.call(list.children);
    var words = items.map(function (item) { return fold(item.textContent); });
    items.forEach(function (item, index) { item.dataset.orden = String(index); });
    var count = form.querySelector(".filtros-cuenta");
    var fields = Array.prototype.slice.call(form.elements).filter(function (field) {
      return field.name;
    });
    var address = form.hasAttribute("data-direccion");
    var sortedBy = "";  // the list comes in the plan's order

    if (address) {
      var query = new URLSearchParams(window.location.search);
      fields.forEach(function (field) {
        if (!query.has(field.name)) return;
        if (field.type === "checkbox") field.checked = query.get(field.name) === field.value;
        else field.value = query.get(field.name);
      });
    }

    function apply() {
      var search = "";
      var wanted = [];
      var order = "";
      fields.forEach(function (field) {
        if (field.name === "q") search = fold(field.value.trim());
        else if (field.name === "orden") order = field.value;
        else if (field.type === "checkbox") { if (field.checked) wanted.push([field.name, field.value]); }
        else if (field.value) wanted.push([field.name, field.value]);
      });
      var terms = search ? search.split(/\s+/) : [];
      var shown = 0;
      items.forEach(function (item, index) {
        var keep = wanted.every(function (pair) { return item.dataset[pair[0]] === pair[1]; }) &&
          terms.every(function (term) { return words[index].indexOf(term) !== -1; });
        item.hidden = !keep;
        if (keep) shown += 1;
      });
      if (order !== sortedBy) sort(order);
      if (count) {
        count.textContent = count.dataset.plantilla
          .replace("{shown}", String(shown))
          .replace("{total}", String(items.length));
      }
      if (address) remember();
    }

    function sort(order) {
      var key = order.replace(/^-/, "") || "orden";
      var sign = order.charAt(0) === "-" ? -1 : 1;
      var sorted = items.slice().sort(function (a, b) {
        var x = a.dataset[key] || "";
        var y = b.dataset[key] || "";
        if (x === "" || y === "") {
          if (x !== y) return x === "" ? 1 : -1;  // no value: last, whichever the direction
        } else {
          var found = sign * compare(x, y);
          if (found) return found;
        }
        return compare(a.dataset.orden, b.dataset.orden);
      });
      sorted.forEach(function (item) { list.appendChild(item); });
      sortedBy = order;
    }

    function remember() {
      var query = new URLSearchParams(window.location.search);
      fields.forEach(function (field) {
        var value = field.type === "checkbox" ? (field.checked ? field.value : "") : field.value;
        if (value) query.set(field.name, value);
        else query.delete(field.name);
      });
      var search = query.toString();
      var target = window.location.pathname + (search ? "?" + search : "") + window.location.hash;
      try {
        window.history.replaceState(null, "", target);
      } catch (refused) {
        // some browsers refuse to change a file:// address: the filters still work
      }
    }

    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.hidden = false;
    apply();
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.filtros"), setUp);
})();
