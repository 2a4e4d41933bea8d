/*
 * The Block Kit visual check page: draws every fixture of fixtures/blockkit.json with the same
 * renderer as the playground, in a chosen viewer zone and locale. `?only=<name>` draws one fixture
 * (the browser test screenshots each one), `?tz=` and `?locale=` pick the viewer. Interactions are
 * logged under the fixture as the JSON Slack would send (`block_actions` action, `view.state`).
 */
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var tzSelect = document.getElementById("ck-tz");
  var localeSelect = document.getElementById("ck-locale");
  tzSelect.value = params.get("tz") || "Asia/Tokyo";
  localeSelect.value = params.get("locale") || "ja-JP";
  var reload = function () {
    params.set("tz", tzSelect.value);
    params.set("locale", localeSelect.value);
    location.search = params.toString();
  };
  tzSelect.addEventListener("change", reload);
  localeSelect.addEventListener("change", reload);

  var people = {
    U0PLAYJA01: { name: "hanako.sato", real_name: "佐藤 花子" },
    U0PLAYEN01: { name: "emma.clarke", real_name: "Emma Clarke" },
  };
  var channels = { C0PLAYALUM: { name: "alumni", kind: "public" }, G0PLAYHR01: { name: "alumni-hr", kind: "private" } };
  var suggestions = [
    { text: { type: "plain_text", text: "法人営業（出戻り歓迎）" }, value: "1" },
    { text: { type: "plain_text", text: "Product designer" }, value: "2" },
  ];

  function card(fixture) {
    var box = document.createElement("section");
    box.className = "ck-fixture";
    box.dataset.fixture = fixture.name;
    var title = document.createElement("h2");
    title.textContent = fixture.name + " · " + fixture.surface;
    box.appendChild(title);
    if (fixture.note) {
      var note = document.createElement("div");
      note.className = "ck-note";
      note.textContent = fixture.note;
      box.appendChild(note);
    }
    var log = document.createElement("div");
    log.className = "ck-log";
    var ctx = {
      surface: fixture.surface,
      tz: tzSelect.value,
      locale: localeSelect.value,
      people: people,
      channels: channels,
      errors: fixture.errors || {},
      onAction: function (action) {
        log.textContent = JSON.stringify(action);
      },
      onOptions: function (actionId, blockId, query) {
        return {
          options: suggestions.filter(function (o) {
            return o.text.text.toLowerCase().indexOf(query.toLowerCase()) >= 0;
          }),
        };
      },
    };
    var rendered = BlockKit.render(fixture.blocks, ctx);
    box.appendChild(rendered);
    if (fixture.surface !== "message") {
      var show = document.createElement("button");
      show.className = "bk-button ck-state";
      show.type = "button";
      show.textContent = "view.state";
      show.addEventListener("click", function () {
        log.textContent = JSON.stringify(BlockKit.collectState(rendered));
      });
      box.appendChild(show);
    }
    box.appendChild(log);
    return box;
  }

  fetch("/static/fixtures/blockkit.json")
    .then(function (r) { return r.json(); })
    .then(function (fixtures) {
      var only = params.get("only");
      var main = document.getElementById("ck-main");
      fixtures
        .filter(function (f) { return !only || f.name === only; })
        .forEach(function (f) { main.appendChild(card(f)); });
      document.body.dataset.ready = "1";
    });
})();
