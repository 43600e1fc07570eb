/**
 * The browser side of the HTML report's file explorer, as script text (no modules, no network).
 * Each `.explorer` section carries its data (see explorer.ts) in a JSON script tag; selecting a
 * layer replays the layers up to it into typed arrays (the tree as of that layer, with the layer's
 * own changes marked), and only the rows of expanded directories are in the DOM, so a 50k-file
 * image opens at once. `humanSize` comes from src/util/human.ts (humanSizeScript).
 */
export const EXPLORER_JS = String.raw`
(function () {
  var KIND = ['added', 'modified', 'removed'];
  var MAX_HITS = 500;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function init(root) {
    var d = JSON.parse(root.querySelector('script.sc-data').textContent);
    var par = d.parent, names = d.names, N = par.length;
    var kids = new Array(N);
    for (var i = 1; i < N; i++) (kids[par[i]] || (kids[par[i]] = [])).push(i);
    for (i = 0; i < N; i++) if (kids[i]) kids[i].sort(function (a, b) { return names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0; });
    var pres = new Uint8Array(N), typ = new Uint8Array(N), own = new Float64Array(N), tot = new Float64Array(N);
    var chg = new Int8Array(N), sub = new Uint8Array(N), open = new Uint8Array(N), paths = new Array(N);
    var tree = root.querySelector('.xtree'), search = root.querySelector('.xsearch'), only = root.querySelector('.xchanged');
    var status = root.querySelector('.xstatus');
    var layerButtons = root.querySelectorAll('.xlayers button');
    var cur = -1;
    function path(n) {
      if (n === 0) return '/';
      if (paths[n] === undefined) paths[n] = (par[n] === 0 ? '' : path(par[n])) + '/' + names[n];
      return paths[n];
    }
    function select(L) {
      cur = L;
      pres.fill(0); own.fill(0); typ.fill(0); chg.fill(-1); tot.fill(0); sub.fill(0);
      pres[0] = 1; typ[0] = 1;
      for (var l = 0; l <= L; l++) {
        var c = d.layers[l].ch;
        for (var k = 0; k < c.length; k += 3) {
          var n = c[k], kind = c[k + 2] >> 3;
          own[n] = c[k + 1];
          typ[n] = c[k + 2] & 7;
          pres[n] = kind === 2 ? 0 : 1;
        }
      }
      var cc = d.layers[L].ch;
      for (k = 0; k < cc.length; k += 3) chg[cc[k]] = cc[k + 2] >> 3;
      // children have higher ids than their parents: one backward pass sums the directories
      for (var i = N - 1; i > 0; i--) {
        var shown = pres[i] || chg[i] === 2;
        if (!shown) continue;
        if (typ[i] !== 1) tot[i] += own[i];
        // a removed node counts in its parent only when that was removed too
        if (pres[i] || !pres[par[i]]) tot[par[i]] += tot[i];
        if (chg[i] >= 0 || sub[i]) sub[par[i]] = 1;
      }
      for (i = 0; i < layerButtons.length; i++) layerButtons[i].setAttribute('aria-pressed', String(i === L));
      render();
    }
    function visible(n) {
      if (!(pres[n] || chg[n] === 2)) return false;
      return !only.checked || chg[n] >= 0 || sub[n] === 1;
    }
    function row(n) {
      var li = el('li', 'xrow' + (chg[n] >= 0 ? ' ' + KIND[chg[n]] : ''));
      li.setAttribute('data-node', String(n));
      li.setAttribute('data-path', path(n));
      var line = el('div', 'xline');
      var isDir = typ[n] === 1;
      var tog = el('span', 'xtog', isDir && kids[n] ? (open[n] ? '\u25be' : '\u25b8') : '');
      line.appendChild(tog);
      line.appendChild(el('span', 'xname', names[n] + (isDir ? '/' : '')));
      line.appendChild(el('span', 'xsize', humanSize(tot[n])));
      if (chg[n] >= 0) line.appendChild(el('span', 'xbadge', KIND[chg[n]]));
      li.appendChild(line);
      if (isDir) {
        li.setAttribute('aria-expanded', String(!!open[n]));
        if (open[n]) li.appendChild(list(n));
      }
      return li;
    }
    function list(n) {
      var ul = el('ul', 'xlist');
      var ks = kids[n] || [];
      for (var i = 0; i < ks.length; i++) if (visible(ks[i])) ul.appendChild(row(ks[i]));
      return ul;
    }
    function render() {
      tree.textContent = '';
      var q = search.value.trim().toLowerCase();
      if (q) {
        var hits = 0, ul = el('ul', 'xlist xhits');
        for (var n = 1; n < N; n++) {
          if (!visible(n) || path(n).toLowerCase().indexOf(q) < 0) continue;
          if (++hits > MAX_HITS) continue;
          var li = el('li', 'xrow' + (chg[n] >= 0 ? ' ' + KIND[chg[n]] : ''));
          li.setAttribute('data-node', String(n));
          li.setAttribute('data-path', path(n));
          var line = el('div', 'xline');
          line.appendChild(el('span', 'xname', path(n) + (typ[n] === 1 ? '/' : '')));
          line.appendChild(el('span', 'xsize', humanSize(tot[n])));
          if (chg[n] >= 0) line.appendChild(el('span', 'xbadge', KIND[chg[n]]));
          li.appendChild(line);
          ul.appendChild(li);
        }
        status.textContent = hits + ' match' + (hits === 1 ? '' : 'es') + (hits > MAX_HITS ? ' (first ' + MAX_HITS + ' shown)' : '');
        tree.appendChild(ul);
        return;
      }
      status.textContent = 'layer ' + cur + ': ' + (d.layers[cur].ch.length / 3) + ' change' + (d.layers[cur].ch.length === 3 ? '' : 's');
      tree.appendChild(list(0));
    }
    tree.addEventListener('click', function (ev) {
      var li = ev.target.closest('li.xrow');
      if (!li || search.value.trim()) return;
      var n = Number(li.getAttribute('data-node'));
      if (typ[n] !== 1 || !kids[n]) return;
      open[n] = open[n] ? 0 : 1;
      li.parentNode.replaceChild(row(n), li);
    });
    for (var b = 0; b < layerButtons.length; b++) {
      layerButtons[b].addEventListener('click', function (ev) { select(Number(ev.currentTarget.getAttribute('data-layer'))); });
    }
    search.addEventListener('input', render);
    only.addEventListener('change', render);
    root.querySelector('.xexpand').addEventListener('click', function () {
      var c = d.layers[cur].ch;
      for (var k = 0; k < c.length; k += 3) for (var p = par[c[k]]; p >= 0; p = par[p]) open[p] = 1;
      render();
    });
    root.querySelector('.xcollapse').addEventListener('click', function () { open.fill(0); render(); });
    select(d.layers.length - 1);
    root.setAttribute('data-ready', 'true');
  }
  var roots = document.querySelectorAll('.explorer');
  for (var r = 0; r < roots.length; r++) init(roots[r]);
  // layer bars select the layer in the explorer of their section
  var bars = document.querySelectorAll('.lrow[data-layer]');
  for (var j = 0; j < bars.length; j++) {
    bars[j].addEventListener('click', function (ev) {
      var sec = ev.currentTarget.closest('.image');
      var btn = sec && sec.querySelector('.xlayers button[data-layer="' + ev.currentTarget.getAttribute('data-layer') + '"]');
      if (btn) { btn.click(); btn.scrollIntoView({ block: 'nearest' }); }
    });
  }
})();
`;
