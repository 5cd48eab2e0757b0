/* randbench leaderboard: sorting, filtering, toggles and permalinks on the index page, and the
 * raw-sample browser on task pages. A classic script with no library and no network: the data
 * comes from <script type="application/json"> elements, and everything from result files is
 * written with textContent, never as HTML. */
(function () {
  "use strict";

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function fmtScore(value) {
    return value === null || value === undefined ? "\u2014" : (100 * value).toFixed(1);
  }

  function bucket(value) {
    if (value === null || value === undefined) return "bnone";
    return "b" + Math.min(10, Math.max(0, Math.floor(10 * value)));
  }

  function setScore(cell, value) {
    cell.textContent = fmtScore(value);
    cell.className = cell.className.replace(/\bb(\d+|none)\b/g, "").trim() + " " + bucket(value);
  }

  /* ---------------------------------------------------------------- index */

  function Board(table, data) {
    this.table = table;
    this.data = data;
    this.rows = {};
    this.order = [];
    var self = this;
    data.rows.forEach(function (row) {
      self.rows[row.id] = row;
    });
    Array.prototype.forEach.call(table.querySelectorAll("tbody tr[data-row]"), function (tr) {
      self.order.push(tr.getAttribute("data-row"));
    });
    this.categories = data.categories.map(function (c) { return c.key; });
    this.toggles = Array.prototype.map.call(
      document.querySelectorAll("#col-toggles input[data-toggle]"),
      function (input) { return input.getAttribute("data-toggle"); }
    );
    this.state = this.defaults();
  }

  Board.prototype.defaults = function () {
    return { sort: "rank", dir: "asc", q: "", cats: this.categories.slice(), hide: [] };
  };

  Board.prototype.subset = function () {
    /* The scores for the chosen categories, computed at build time. */
    var key = this.categories.filter(function (c) {
      return this.state.cats.indexOf(c) >= 0;
    }, this).join(",");
    return key ? this.data.subsets[key] || null : null;
  };

  Board.prototype.overall = function (id) {
    var subset = this.subset();
    if (subset === null) return [null, null, null, null];
    return subset[id] || [null, null, null, null];
  };

  Board.prototype.value = function (id, key) {
    var row = this.rows[id];
    if (key === "rank") {
      /* sampled and exact rows are ranked apart: exact rows after sampled ones */
      var rank = this.overall(id)[3];
      return rank === null ? null : rank + (row.exact ? 1e6 : 0);
    }
    if (key === "overall") return this.overall(id)[0];
    if (key.indexOf("cat-") === 0) {
      var cat = row.cats[key.slice(4)];
      return cat ? cat[0] : null;
    }
    if (key === "date") return row.date;
    return row[key] === undefined ? null : row[key];
  };

  Board.prototype.sort = function () {
    var self = this;
    var key = this.state.sort;
    var sign = this.state.dir === "desc" ? -1 : 1;
    var ids = this.order.slice();
    ids.sort(function (a, b) {
      var va = self.value(a, key);
      var vb = self.value(b, key);
      if (va === null && vb === null) return self.order.indexOf(a) - self.order.indexOf(b);
      if (va === null) return 1; /* missing values last, whichever the direction */
      if (vb === null) return -1;
      var c = typeof va === "string" ? va.localeCompare(vb) : va - vb;
      return c !== 0 ? sign * c : self.order.indexOf(a) - self.order.indexOf(b);
    });
    /* each group (sampled rows, exact rows) is its own tbody: rows sort within it */
    Array.prototype.forEach.call(this.table.tBodies, function (body) {
      var byId = {};
      Array.prototype.forEach.call(body.querySelectorAll("tr[data-row]"), function (tr) {
        byId[tr.getAttribute("data-row")] = tr;
      });
      ids.forEach(function (id) { if (byId[id]) body.appendChild(byId[id]); });
    });
    Array.prototype.forEach.call(this.table.tHead.rows[0].cells, function (th) {
      var sortKey = th.getAttribute("data-sort");
      if (sortKey === key) th.setAttribute("aria-sort", sign > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
  };

  Board.prototype.filter = function () {
    var words = this.state.q.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    var self = this;
    Array.prototype.forEach.call(this.table.querySelectorAll("tbody tr[data-row]"), function (tr) {
      var row = self.rows[tr.getAttribute("data-row")];
      var text = (row.model + " " + row.method).toLowerCase();
      var keep = words.every(function (w) { return text.indexOf(w) >= 0; });
      tr.hidden = !keep;
      if (keep) shown += 1;
    });
    var status = document.getElementById("status");
    if (status) status.textContent = shown + " of " + this.order.length + " rows";
  };

  Board.prototype.columns = function () {
    var hidden = {};
    this.state.hide.forEach(function (key) { hidden[key] = true; });
    this.categories.forEach(function (c) {
      if (this.state.cats.indexOf(c) < 0) hidden["cat-" + c] = true;
    }, this);
    Array.prototype.forEach.call(this.table.querySelectorAll("[data-col]"), function (cell) {
      cell.hidden = !!hidden[cell.getAttribute("data-col")];
    });
  };

  Board.prototype.scores = function () {
    var self = this;
    Array.prototype.forEach.call(this.table.querySelectorAll("tbody tr[data-row]"), function (tr) {
      var values = self.overall(tr.getAttribute("data-row"));
      var rank = tr.querySelector('[data-col="rank"]');
      var overall = tr.querySelector('[data-col="overall"]');
      var ci = tr.querySelector('[data-col="ci"]');
      var row = self.rows[tr.getAttribute("data-row")];
      rank.textContent = values[3] !== null ? String(values[3]) : row && row.reference ? "ref" : "\u2014";
      setScore(overall, values[0]);
      overall.removeAttribute("title");
      ci.textContent = values[1] === null ? "" : fmtScore(values[1]) + " \u2013 " + fmtScore(values[2]);
    });
  };

  Board.prototype.controls = function () {
    var self = this;
    var filter = document.getElementById("filter");
    if (filter) filter.value = this.state.q;
    Array.prototype.forEach.call(document.querySelectorAll("#cat-toggles input"), function (input) {
      input.checked = self.state.cats.indexOf(input.getAttribute("data-cat")) >= 0;
    });
    Array.prototype.forEach.call(document.querySelectorAll("#col-toggles input"), function (input) {
      input.checked = self.state.hide.indexOf(input.getAttribute("data-toggle")) < 0;
    });
  };

  Board.prototype.render = function () {
    this.scores();
    this.sort();
    this.filter();
    this.columns();
    this.controls();
  };

  Board.prototype.hash = function () {
    var s = this.state;
    var d = this.defaults();
    var parts = [];
    if (s.sort !== d.sort || s.dir !== d.dir) parts.push("sort=" + encodeURIComponent(s.sort + ":" + s.dir));
    if (s.q) parts.push("q=" + encodeURIComponent(s.q));
    if (s.cats.length !== d.cats.length) parts.push("cats=" + encodeURIComponent(s.cats.join(",")));
    if (s.hide.length) parts.push("hide=" + encodeURIComponent(s.hide.join(",")));
    return parts.join("&");
  };

  Board.prototype.save = function () {
    var hash = this.hash();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    var link = document.getElementById("permalink");
    if (link) link.setAttribute("href", "#" + hash);
  };

  Board.prototype.load = function (hash) {
    /* Restore a view from a permalink; anything unknown is ignored. */
    var state = this.defaults();
    var self = this;
    hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at < 0) return;
      var key = part.slice(0, at);
      var value;
      try { value = decodeURIComponent(part.slice(at + 1)); } catch (e) { return; }
      if (key === "sort") {
        var bits = value.split(":");
        if (self.sortable(bits[0])) state.sort = bits[0];
        if (bits[1] === "asc" || bits[1] === "desc") state.dir = bits[1];
      } else if (key === "q") {
        state.q = value.slice(0, 200);
      } else if (key === "cats") {
        state.cats = value.split(",").filter(function (c) { return self.categories.indexOf(c) >= 0; });
      } else if (key === "hide") {
        state.hide = value.split(",").filter(function (c) { return self.toggles.indexOf(c) >= 0; });
      }
    });
    this.state = state;
  };

  Board.prototype.sortable = function (key) {
    return this.table.querySelector('th[data-sort="' + key.replace(/[^a-z0-9_-]/gi, "") + '"]') !== null;
  };

  Board.prototype.bind = function () {
    var self = this;
    function update() { self.render(); self.save(); }
    Array.prototype.forEach.call(this.table.tHead.rows[0].cells, function (th) {
      var key = th.getAttribute("data-sort");
      var button = th.querySelector("button");
      if (!key || !button) return;
      button.addEventListener("click", function () {
        if (self.state.sort === key) {
          self.state.dir = self.state.dir === "asc" ? "desc" : "asc";
        } else {
          self.state.sort = key;
          self.state.dir = key === "rank" || key === "model" || key === "method" ? "asc" : "desc";
        }
        update();
      });
    });
    var filter = document.getElementById("filter");
    if (filter) filter.addEventListener("input", function () { self.state.q = filter.value; update(); });
    Array.prototype.forEach.call(document.querySelectorAll("#cat-toggles input"), function (input) {
      input.addEventListener("change", function () {
        var key = input.getAttribute("data-cat");
        self.state.cats = self.categories.filter(function (c) {
          return c === key ? input.checked : self.state.cats.indexOf(c) >= 0;
        });
        update();
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("#col-toggles input"), function (input) {
      input.addEventListener("change", function () {
        var key = input.getAttribute("data-toggle");
        self.state.hide = self.toggles.filter(function (c) {
          return c === key ? !input.checked : self.state.hide.indexOf(c) >= 0;
        });
        update();
      });
    });
    window.addEventListener("hashchange", function () { self.load(location.hash); self.render(); });
  };

  function initBoard() {
    var table = document.getElementById("board");
    var data = readJson("board-data");
    if (!table || !data) return;
    var board = new Board(table, data);
    board.load(location.hash);
    board.bind();
    board.render();
    var link = document.getElementById("permalink");
    if (link) link.setAttribute("href", "#" + board.hash());
  }

  /* ------------------------------------------------------------- samples */

  var PAGE = 50;

  function initSamples() {
    var data = readJson("samples-data");
    var body = document.getElementById("sample-rows");
    if (!data || !body) return;
    var search = document.getElementById("sample-filter");
    var kind = document.getElementById("sample-kind");
    var status = document.getElementById("sample-status");
    var pageLabel = document.getElementById("sample-page");
    var prev = document.getElementById("sample-prev");
    var next = document.getElementById("sample-next");
    var page = 0;

    function matches(sample) {
      var invalid = sample[4].length > 0;
      if (kind.value === "valid" && invalid) return false;
      if (kind.value === "invalid" && !invalid) return false;
      var q = search.value.toLowerCase();
      if (!q) return true;
      return (sample[2] + " " + sample[3].join(" ")).toLowerCase().indexOf(q) >= 0;
    }

    function cell(tr, text, className) {
      var td = document.createElement("td");
      td.textContent = text;
      if (className) td.className = className;
      tr.appendChild(td);
    }

    function render() {
      var shown = data.filter(matches);
      var pages = Math.max(1, Math.ceil(shown.length / PAGE));
      page = Math.min(page, pages - 1);
      while (body.firstChild) body.removeChild(body.firstChild);
      shown.slice(page * PAGE, (page + 1) * PAGE).forEach(function (sample) {
        var tr = document.createElement("tr");
        var invalid = sample[4].length > 0;
        if (invalid) tr.className = "invalid";
        cell(tr, String(sample[0]), "num");
        cell(tr, sample[2], "completion");
        var read = sample[3].join(", ");
        if (invalid) read = (read ? read + "; " : "") + "invalid: " + sample[4].join("; ");
        cell(tr, read, "read");
        body.appendChild(tr);
      });
      status.textContent = shown.length + " of " + data.length + " samples";
      pageLabel.textContent = "page " + (page + 1) + " of " + pages;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    }

    search.addEventListener("input", function () { page = 0; render(); });
    kind.addEventListener("change", function () { page = 0; render(); });
    prev.addEventListener("click", function () { page -= 1; render(); });
    next.addEventListener("click", function () { page += 1; render(); });
    render();
  }

  initBoard();
  initSamples();
  /* Tests wait for this: the page's script ran to the end. */
  document.documentElement.setAttribute("data-ready", "true");
})();
