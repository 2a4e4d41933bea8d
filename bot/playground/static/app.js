/*
 * The playground page: a Slack-like client for the embedded Slack (vanilla JS, no build step).
 *
 * It long-polls GET /api/state and draws what the chosen person would see: the channels they are
 * in, their DM with the bot and its App Home, messages (their own ephemerals marked "only visible
 * to you"), threads, their modal stack, plus a clock panel to run scheduled jobs and the files the
 * bot uploaded. Everything a person does goes to the JSON API, which turns it into the signed
 * request Slack would send the bot (see bot/playground/server.py).
 */
(function () {
  "use strict";

  // The page's own words, in both languages (the viewer's locale picks one).
  var WORDS = {
    en: {
      banner: "Not a Slack workspace: the real bot, an embedded Slack, everything on this computer.",
      viewing_as: "Viewing as",
      channels: "Channels",
      direct: "Direct messages",
      apps: "Apps",
      home: "Home",
      bot_name: "Alumni Bot",
      app: "APP",
      only_you: "Only visible to you",
      edited: "(edited)",
      replies: function (n) { return n === 1 ? "1 reply" : n + " replies"; },
      thread: "Thread",
      send: "Send",
      message_to: function (name) { return "Message " + name + " (type / for commands)"; },
      reply: "Reply…",
      empty: "No messages yet.",
      home_loading: "Opening the App Home…",
      clock: "Clock",
      now: "Now",
      frozen: "(frozen)",
      as_of: "As of (your time zone; empty = now)",
      jobs: "Scheduled jobs",
      run: "Run",
      next_run: "next",
      files: "Files",
      no_files: "No files yet.",
      errors: "Slack API errors",
      no_errors: "None: Slack accepted everything the bot sent.",
      add_person: "Add a person",
      name: "Name",
      locale: "Language",
      tz: "Time zone",
      add: "Add",
      close: "Close",
      back: "Back",
      cancel: "Cancel",
      submit: "Submit",
      request_failed: "The playground refused that: ",
      roles: { alumnus: "alumnus", hr: "HR", organizer: "event organiser", leader: "leader (company news)" },
      mails: "Mailbox (emails the bot sent)",
      no_mails: "No emails yet. Invitations HR sends to people not in Slack land here; nothing leaves this computer.",
      mail_to: "To",
      job_done: function (r) {
        return r.job + ": " + r.status + " · queued " + r.queued + " · sent " + r.sent + (r.failed ? " · failed " + r.failed : "");
      },
      not_member: "You are not in this channel.",
      slack_refused: "Slack refused what the bot sent: ",
    },
    ja: {
      banner: "Slack ワークスペースではありません。本物のボットと組み込みの Slack が、このコンピューターの中だけで動いています。",
      viewing_as: "表示中の人",
      channels: "チャンネル",
      direct: "ダイレクトメッセージ",
      apps: "アプリ",
      home: "ホーム",
      bot_name: "Alumni Bot",
      app: "アプリ",
      only_you: "あなただけに表示されています",
      edited: "（編集済み）",
      replies: function (n) { return n + " 件の返信"; },
      thread: "スレッド",
      send: "送信",
      message_to: function (name) { return name + " へのメッセージ（/ でコマンド）"; },
      reply: "返信する…",
      empty: "まだメッセージはありません。",
      home_loading: "アプリのホームを開いています…",
      clock: "時計",
      now: "現在",
      frozen: "（固定中）",
      as_of: "指定日時（あなたのタイムゾーン。空なら今）",
      jobs: "定期ジョブ",
      run: "実行",
      next_run: "次回",
      files: "ファイル",
      no_files: "ファイルはまだありません。",
      errors: "Slack API エラー",
      no_errors: "なし（ボットが送ったものはすべて Slack が受け付けました）",
      add_person: "人を追加",
      name: "名前",
      locale: "言語",
      tz: "タイムゾーン",
      add: "追加",
      close: "閉じる",
      back: "戻る",
      cancel: "キャンセル",
      submit: "送信",
      request_failed: "プレイグラウンドが受け付けませんでした: ",
      roles: { alumnus: "アルムナイ", hr: "人事", organizer: "イベント主催者", leader: "経営陣（会社のお知らせ）" },
      mails: "メールボックス（ボットが送ったメール）",
      no_mails: "メールはまだありません。人事が Slack にいない人へ送る招待メールがここに届きます（このコンピューターの外には送られません）。",
      mail_to: "宛先",
      job_done: function (r) {
        return r.job + ": " + r.status + " · キュー " + r.queued + " · 送信 " + r.sent + (r.failed ? " · 失敗 " + r.failed : "");
      },
      not_member: "このチャンネルのメンバーではありません。",
      slack_refused: "ボットが送った内容を Slack が拒否しました: ",
    },
  };

  var state = null;
  var started = false;
  var version = -1;
  var me = null;
  var current = null; // {kind: "channel", id} | {kind: "home"}
  var thread = null; // {channel, ts}
  var dismissed = {};
  var lastJobResult = null;
  var modalKey = null;
  var messageCache = new Map();
  var suggestIndex = -1;

  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function person(id) {
    return state && state.people.find(function (p) { return p.id === id; });
  }

  function viewer() {
    return person(me) || { id: me, locale: "en-US", tz: "UTC", name: me, real_name: me, roles: [] };
  }

  function lang() {
    return /^ja/i.test(viewer().locale || "") ? "ja" : "en";
  }

  function w() {
    return WORDS[lang()];
  }

  function ctxFor(surface, extra) {
    var people = {};
    var channels = {};
    (state ? state.people : []).forEach(function (p) { people[p.id] = p; });
    (state ? state.channels : []).forEach(function (c) { channels[c.id] = c; });
    var v = viewer();
    return Object.assign({ surface: surface, tz: v.tz || "UTC", locale: v.locale || "en-US", people: people, channels: channels }, extra);
  }

  // ------------------------------------------------------------------ API

  function api(path, body) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ user: me }, body)),
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) {
          toast(w().request_failed + (data && data.error ? data.error : r.status));
        }
        return data;
      });
    }).catch(function (e) {
      toast(w().request_failed + e);
      return { ok: false };
    });
  }

  var localNotices = [];
  function toast(text) {
    localNotices.push({ user: me, text: text, local: true });
    renderNotices();
  }

  function poll() {
    fetch("/api/state?since=" + version + "&wait=20")
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.changed !== false) {
          state = data;
          version = data.version;
          render();
        }
      })
      .catch(function () {
        return new Promise(function (resolve) { setTimeout(resolve, 1000); });
      })
      .finally(function () {
        setTimeout(poll, 50);
      });
  }

  // ------------------------------------------------------------------ who sees what

  function canSee(channel) {
    if (channel.kind === "im") return channel.user === me;
    if (Array.isArray(channel.members)) return channel.members.indexOf(me) >= 0;
    if (channel.kind === "private") return viewer().roles.indexOf("hr") >= 0;
    return true;
  }

  function myDm() {
    return state.channels.find(function (c) { return c.kind === "im" && c.user === me; });
  }

  function visibleMessages(channelId) {
    return (state.messages[channelId] || []).filter(function (m) {
      return m.ephemeral_to === null || m.ephemeral_to === undefined || m.ephemeral_to === me;
    });
  }

  // ------------------------------------------------------------------ render

  function render() {
    if (!state) return;
    if (!started) {
      // First state: the ?as= person, else the one chosen last time, else the workspace's default.
      started = true;
      if (!me || !person(me)) me = localStorage.getItem("playground.me");
      if (!me || !person(me)) me = state.me_default;
    }
    document.documentElement.lang = lang();
    $("pg-banner-note").textContent = w().banner;
    $("pg-person-label").textContent = w().viewing_as;
    $("pg-send").textContent = w().send;
    if (!current) {
      var alumni = state.channels.find(function (c) { return c.kind === "public"; });
      current = alumni ? { kind: "channel", id: alumni.id } : { kind: "home" };
    }
    if (current.kind === "channel") {
      var ch = state.channels.find(function (c) { return c.id === current.id; });
      if (!ch || !canSee(ch)) current = { kind: "channel", id: (myDm() || {}).id };
    }
    announceSlackErrors();
    renderPeople();
    renderSidebar();
    renderChannel();
    renderThread();
    renderPanel();
    renderNotices();
    renderModal();
  }

  // A Web API error the bot received while this page is open is also said where the person is looking
  // (the panel keeps the list): a refused payload must never look like "nothing happened".
  var seenErrors = null;

  function announceSlackErrors() {
    var all = state.slack_errors || [];
    if (seenErrors !== null && all.length > seenErrors) {
      all.slice(seenErrors).forEach(function (e) {
        localNotices.push({ user: me, text: w().slack_refused + e.method + ": " + e.error });
      });
    }
    seenErrors = all.length;
  }

  function renderPeople() {
    var select = $("pg-person");
    var sig = JSON.stringify([state.people, me, lang()]);
    if (select.dataset.sig === sig) return;
    select.dataset.sig = sig;
    select.textContent = "";
    state.people.forEach(function (p) {
      var roles = (p.roles || []).map(function (r) { return w().roles[r] || r; }).join(", ");
      var o = el("option", null, p.real_name + " — " + roles + " · " + p.locale + " · " + p.tz);
      o.value = p.id;
      o.selected = p.id === me;
      select.appendChild(o);
    });
  }

  function navButton(label, active, onClick, attrs) {
    var b = el("button", "pg-nav" + (active ? " pg-active" : ""));
    b.type = "button";
    if (typeof label === "string") b.textContent = label;
    else b.appendChild(label);
    Object.keys(attrs || {}).forEach(function (k) { b.dataset[k] = attrs[k]; });
    b.addEventListener("click", onClick);
    return b;
  }

  function renderSidebar() {
    var nav = $("pg-sidebar");
    nav.textContent = "";
    nav.appendChild(el("h3", null, w().channels));
    state.channels.filter(function (c) { return c.kind !== "im" && c.kind !== "mpim" && canSee(c); }).forEach(function (c) {
      var label = el("span");
      label.appendChild(el("span", "pg-lock", c.kind === "private" ? "🔒" : "#"));
      label.appendChild(document.createTextNode(c.name));
      nav.appendChild(navButton(label, current.kind === "channel" && current.id === c.id, function () {
        openChannel(c.id);
      }, { channel: c.id, name: c.name }));
    });
    nav.appendChild(el("h3", null, w().direct));
    var dm = myDm();
    if (dm) {
      nav.appendChild(navButton("🤖 " + w().bot_name, current.kind === "channel" && current.id === dm.id, function () {
        openChannel(dm.id);
      }, { channel: dm.id, name: "dm" }));
    }
    // Group DMs the bot opened (reconnect intros) with this person in them, named by their members.
    state.channels.filter(function (c) { return c.kind === "mpim" && canSee(c); }).forEach(function (c) {
      nav.appendChild(navButton(channelName(c), current.kind === "channel" && current.id === c.id, function () {
        openChannel(c.id);
      }, { channel: c.id, name: c.name }));
    });
    nav.appendChild(el("h3", null, w().apps));
    nav.appendChild(navButton("🏠 " + w().bot_name + " · " + w().home, current.kind === "home", openHome, { nav: "home" }));
  }

  function openChannel(id) {
    current = { kind: "channel", id: id };
    thread = null;
    render();
    scrollToBottom(true);
  }

  function openHome() {
    current = { kind: "home" };
    thread = null;
    render();
    api("/api/home_opened", {});
  }

  function channelName(c) {
    if (c.kind === "im") return w().bot_name;
    if (c.kind === "mpim") return "👥 " + (c.title || c.name);
    return (c.kind === "private" ? "🔒 " : "#") + c.name;
  }

  function renderChannel() {
    var header = $("pg-channel-header");
    var list = $("pg-messages");
    var composer = $("pg-composer");
    if (current.kind === "home") {
      header.textContent = w().bot_name + " · " + w().home;
      composer.hidden = true;
      var view = state.home[me];
      var key = JSON.stringify([view, me, lang()]);
      if (list.dataset.key === key) return;
      list.dataset.key = key;
      list.textContent = "";
      if (!view) {
        list.appendChild(el("div", "pg-empty", w().home_loading));
        return;
      }
      var root = el("div", "pg-home");
      root.dataset.viewId = view.id;
      root.appendChild(BlockKit.render(view.blocks || [], ctxFor("home", {
        onAction: function (action) {
          return api("/api/action", { source: "home", view_id: view.id, action: action, state: BlockKit.collectState(root) });
        },
        onOptions: optionsFor(view.id),
      })));
      list.appendChild(root);
      return;
    }
    composer.hidden = false;
    var channel = state.channels.find(function (c) { return c.id === current.id; });
    if (!channel) {
      header.textContent = "";
      list.textContent = "";
      return;
    }
    header.textContent = channelName(channel);
    header.dataset.channel = channel.id;
    var input = $("pg-composer-input");
    input.placeholder = w().message_to(channelName(channel));
    var messages = visibleMessages(channel.id).filter(function (m) { return !m.thread_ts || m.thread_ts === m.ts; });
    var wasAtBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    var sig = JSON.stringify([channel.id, me, lang(), messages]);
    if (list.dataset.key === sig) return;
    var grew = list.dataset.channel === channel.id && messages.length > Number(list.dataset.count || 0);
    list.dataset.key = sig;
    list.dataset.channel = channel.id;
    list.dataset.count = String(messages.length);
    var nodes = messages.map(function (m) { return messageNode(channel.id, m, false); });
    list.textContent = "";
    if (!nodes.length) list.appendChild(el("div", "pg-empty", w().empty));
    nodes.forEach(function (n) { list.appendChild(n); });
    if (wasAtBottom || grew) scrollToBottom(false);
  }

  function scrollToBottom(force) {
    var list = $("pg-messages");
    if (force) list.dataset.key = "";
    requestAnimationFrame(function () { list.scrollTop = list.scrollHeight; });
  }

  function messageNode(channelId, m, inThread) {
    var key = channelId + "|" + m.ts + "|" + me + "|" + lang() + "|" + (inThread ? "t" : "m");
    var sig = JSON.stringify(m);
    var cached = messageCache.get(key);
    if (cached && cached.sig === sig) return cached.node;
    var node = el("div", "pg-message" + (m.ephemeral_to ? " pg-ephemeral" : ""));
    node.dataset.ts = m.ts;
    node.dataset.channel = channelId;
    if (m.ephemeral_to) node.dataset.ephemeral = "1";
    var author = m.bot ? null : person(m.user);
    var name = m.bot ? w().bot_name : author ? author.real_name : m.user;
    var avatar = el("div", "pg-avatar" + (m.bot ? " pg-bot" : ""), m.bot ? "A" : (name || "?").charAt(0));
    node.appendChild(avatar);
    var body = el("div", "pg-message-body");
    if (m.ephemeral_to) body.appendChild(el("div", "pg-only-you", "👁 " + w().only_you));
    var meta = el("div", "pg-meta");
    meta.appendChild(el("span", "pg-author", name));
    if (m.bot) meta.appendChild(el("span", "pg-app-tag", w().app));
    var time = el("span", "pg-time", BlockKit.formatDate(Math.floor(Number(m.ts)), "{date_short_pretty} {time}", ctxFor("message")));
    meta.appendChild(time);
    if (m.edited) meta.appendChild(el("span", "pg-edited", w().edited));
    body.appendChild(meta);
    if (m.blocks && m.blocks.length) {
      var rendered = BlockKit.render(m.blocks, ctxFor("message", {
        onAction: function (action) {
          return api("/api/action", { source: "message", channel: channelId, ts: m.ts, action: action, state: BlockKit.collectState(node) });
        },
        onOptions: optionsFor(null),
      }));
      body.appendChild(rendered);
    } else if (m.text) {
      var text = el("div", "pg-text bk-mrkdwn");
      text.appendChild(BlockKit.mrkdwn(m.text, ctxFor("message")));
      body.appendChild(text);
    }
    (m.files || []).forEach(function (f) {
      var box = el("div", "pg-file");
      box.appendChild(el("span", null, "📄"));
      var a = el("a", null, f.title || f.name);
      a.href = f.url;
      a.setAttribute("download", f.name);
      box.appendChild(a);
      if (f.title && f.title !== f.name) box.appendChild(el("span", "pg-file-name", f.name));
      body.appendChild(box);
      if (/\.(png|jpe?g|gif)$/i.test(f.name)) {
        // Slack previews shared images inline.
        var preview = el("img", "pg-file-preview");
        preview.src = f.url;
        preview.alt = f.title || f.name;
        body.appendChild(preview);
      }
    });
    if (!inThread && m.reply_count > 0) {
      var replies = el("button", "pg-replies", w().replies(m.reply_count));
      replies.type = "button";
      replies.addEventListener("click", function () {
        thread = { channel: channelId, ts: m.ts };
        render();
      });
      body.appendChild(replies);
    }
    node.appendChild(body);
    messageCache.set(key, { sig: sig, node: node });
    return node;
  }

  function optionsFor(viewId) {
    return function (actionId, blockId, query) {
      return api("/api/options", { view_id: viewId, action_id: actionId, block_id: blockId, value: query });
    };
  }

  // A file picked in a file_input goes to the embedded Slack first, as Slack uploads it.
  function upload(file) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () {
        var base64 = String(reader.result).split(",")[1] || "";
        api("/api/files", { name: file.name, content_base64: base64, mimetype: file.type || null }).then(function (r) {
          resolve(r && r.file ? r.file : null);
        });
      };
      reader.readAsDataURL(file);
    });
  }

  function renderThread() {
    var pane = $("pg-thread");
    if (!thread || current.kind !== "channel" || thread.channel !== current.id) {
      pane.hidden = true;
      pane.dataset.key = "";
      return;
    }
    var all = visibleMessages(thread.channel);
    var parent = all.find(function (m) { return m.ts === thread.ts; });
    var replies = all.filter(function (m) { return m.thread_ts === thread.ts && m.ts !== thread.ts; });
    var key = JSON.stringify([parent, replies, me, lang()]);
    if (pane.dataset.key === key) return;
    pane.dataset.key = key;
    pane.hidden = false;
    pane.textContent = "";
    var head = el("div", "pg-thread-header");
    head.appendChild(el("span", null, w().thread));
    var x = el("button", null, "×");
    x.type = "button";
    x.setAttribute("aria-label", w().close);
    x.addEventListener("click", function () {
      thread = null;
      render();
    });
    head.appendChild(x);
    pane.appendChild(head);
    var list = el("div", "pg-messages");
    if (parent) list.appendChild(messageNode(thread.channel, parent, true));
    replies.forEach(function (m) { list.appendChild(messageNode(thread.channel, m, true)); });
    pane.appendChild(list);
    var box = el("form", "pg-thread-composer");
    var input = el("input");
    input.placeholder = w().reply;
    input.className = "pg-thread-input";
    var send = el("button", null, w().send);
    box.appendChild(input);
    box.appendChild(send);
    box.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!input.value.trim()) return;
      api("/api/message", { channel: thread.channel, text: input.value, thread_ts: thread.ts });
      input.value = "";
    });
    pane.appendChild(box);
  }

  // ------------------------------------------------------------------ right panel: clock, jobs, files, errors, people

  // The panel's inputs (the "as of" instant, the add-a-person form) are built once per language, so a
  // state update never takes away what someone is typing; the lists below them are redrawn on change.
  var panelParts = null;

  function panelSkeleton() {
    var panel = $("pg-panel");
    panel.textContent = "";
    var parts = { lang: lang() };
    panel.appendChild(el("h2", null, "🕒 " + w().clock));
    parts.clock = el("div", "pg-clock-now");
    panel.appendChild(parts.clock);
    var label = el("label", "pg-job-desc", w().as_of);
    label.style.display = "block";
    parts.at = el("input", "bk-input");
    parts.at.type = "datetime-local";
    parts.at.id = "pg-as-of";
    label.appendChild(parts.at);
    panel.appendChild(label);
    panel.appendChild(el("h2", null, w().jobs));
    parts.jobs = el("div", "pg-jobs");
    panel.appendChild(parts.jobs);
    panel.appendChild(el("h2", null, "📎 " + w().files));
    parts.files = el("div", "pg-files");
    panel.appendChild(parts.files);
    panel.appendChild(el("h2", null, "✉ " + w().mails));
    parts.mails = el("div", "pg-mails");
    panel.appendChild(parts.mails);
    panel.appendChild(el("h2", null, "⚠ " + w().errors));
    parts.errors = el("div", "pg-error-list");
    panel.appendChild(parts.errors);
    panel.appendChild(el("h2", null, "➕ " + w().add_person));
    panel.appendChild(addPersonForm());
    return parts;
  }

  function addPersonForm() {
    var form = el("form", "pg-add-person");
    var name = el("input");
    name.name = "name";
    name.placeholder = w().name;
    var locale = el("select");
    locale.name = "locale";
    [["ja-JP", "日本語"], ["en-US", "English (US)"], ["en-GB", "English (UK)"]].forEach(function (pair) {
      var o = el("option", null, pair[1]);
      o.value = pair[0];
      locale.appendChild(o);
    });
    var tz = el("input");
    tz.name = "tz";
    tz.value = "Asia/Tokyo";
    tz.title = w().tz;
    var add = el("button", "bk-button", w().add);
    form.appendChild(name);
    form.appendChild(locale);
    form.appendChild(tz);
    form.appendChild(add);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("/api/people", { name: name.value, locale: locale.value, tz: tz.value }).then(function (r) {
        if (r && r.ok) {
          name.value = "";
          switchTo(r.id);
        }
      });
    });
    return form;
  }

  function refresh(node, data, draw) {
    var key = JSON.stringify(data);
    if (node.dataset.key === key) return;
    node.dataset.key = key;
    node.textContent = "";
    draw(node);
  }

  function renderPanel() {
    if (!panelParts || panelParts.lang !== lang()) panelParts = panelSkeleton();
    var parts = panelParts;
    var ctx = ctxFor("message");
    var now = Date.parse(state.clock.now) / 1000;
    parts.clock.textContent = w().now + ": " + BlockKit.formatDate(now, "{date_num} {time}", ctx) + " (" + ctx.tz + ")" + (state.clock.frozen ? " " + w().frozen : "");

    refresh(parts.jobs, [state.jobs, me, lastJobResult], function (box) {
      if (lastJobResult) box.appendChild(el("div", "pg-result pg-job-result", lastJobResult));
      state.jobs.forEach(function (job) { box.appendChild(jobCard(job, ctx)); });
    });
    refresh(parts.files, [state.files], function (box) {
      if (!state.files.length) box.appendChild(el("div", "pg-job-desc", w().no_files));
      state.files.slice().reverse().forEach(function (f) {
        var row = el("div", "pg-file-row");
        var a = el("a", "bk-link", f.title || f.name);
        a.href = f.url;
        a.setAttribute("download", f.name);
        row.appendChild(a);
        box.appendChild(row);
      });
    });
    refresh(parts.mails, [state.mails || []], function (box) {
      var mails = state.mails || [];
      if (!mails.length) box.appendChild(el("div", "pg-job-desc", w().no_mails));
      mails.slice(-10).reverse().forEach(function (mail) {
        var item = el("details", "pg-mail");
        var summary = el("summary");
        summary.appendChild(el("strong", null, mail.subject));
        summary.appendChild(el("div", "pg-job-desc", w().mail_to + ": " + mail.to.join(", ")));
        item.appendChild(summary);
        item.appendChild(el("pre", "pg-mail-body", mail.body));
        box.appendChild(item);
      });
    });
    refresh(parts.errors, [state.slack_errors], function (box) {
      if (!state.slack_errors.length) box.appendChild(el("div", "pg-job-desc", w().no_errors));
      state.slack_errors.slice(-10).reverse().forEach(function (e) {
        var item = el("div", "pg-errors pg-slack-error");
        item.appendChild(el("strong", null, e.method + ": " + e.error));
        (e.messages || []).forEach(function (m) { item.appendChild(el("div", null, m)); });
        box.appendChild(item);
      });
    });
  }

  function jobCard(job, ctx) {
    var box = el("div", "pg-job");
    box.dataset.job = job.name;
    box.appendChild(el("div", "pg-job-name", job.name));
    box.appendChild(el("div", "pg-job-desc", job.description));
    var when = job.schedule + (job.next_run ? " · " + w().next_run + " " + BlockKit.formatDate(Date.parse(job.next_run) / 1000, "{date_num} {time}", ctx) : "");
    box.appendChild(el("div", "pg-job-desc", when));
    var run = el("button", "bk-button", "▶ " + w().run);
    run.type = "button";
    run.addEventListener("click", function () {
      run.disabled = true;
      var body = { name: job.name };
      var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(panelParts.at.value || "");
      // "As of" is typed in the viewer's zone; the API takes an ISO instant.
      if (m) body.at = new Date(BlockKit.zonedToEpoch(+m[1], +m[2], +m[3], +m[4], +m[5], ctx.tz) * 1000).toISOString();
      api("/api/jobs/run", body).then(function (r) {
        run.disabled = false;
        if (r && r.ok) {
          lastJobResult = w().job_done(r);
          renderPanel();
        }
      });
    });
    box.appendChild(run);
    return box;
  }

  function renderNotices() {
    var box = $("pg-notices");
    box.textContent = "";
    if (!state) return;
    var mine = state.notices.concat(localNotices).filter(function (n) { return n.user === me; }).slice(-3);
    mine.forEach(function (n) {
      var id = n.user + "|" + n.text;
      if (dismissed[id]) return;
      var row = el("div", "pg-notice", n.text);
      var x = el("button", "bk-chip-remove", "×");
      x.type = "button";
      x.addEventListener("click", function () {
        dismissed[id] = true;
        renderNotices();
      });
      row.appendChild(x);
      box.appendChild(row);
    });
  }

  // ------------------------------------------------------------------ modals (views.open / push / update stack)

  function applyErrors(root, errors) {
    var first = null;
    root.querySelectorAll(".bk-block-input").forEach(function (block) {
      var old = block.querySelector(".bk-field-error");
      if (old) old.remove();
      block.classList.remove("bk-has-error");
      var message = errors[block.dataset.blockId];
      if (message) {
        block.classList.add("bk-has-error");
        block.appendChild(el("div", "bk-field-error", message));
        first = first || block;
      }
    });
    // Like Slack, bring the first field with an error into view.
    if (first && root.dataset.errors !== JSON.stringify(errors)) first.scrollIntoView({ block: "nearest" });
    root.dataset.errors = JSON.stringify(errors);
  }

  function renderModal() {
    var rootEl = $("pg-modal-root");
    var stack = state.views[me] || [];
    var top = stack[stack.length - 1];
    if (!top) {
      rootEl.textContent = "";
      modalKey = null;
      return;
    }
    var view = top.view;
    var key = me + "|" + top.view_id + "|" + (view.hash || JSON.stringify(view.blocks)) + "|" + lang();
    if (key === modalKey) {
      var body = rootEl.querySelector(".pg-modal-body");
      if (body) applyErrors(body, top.errors || {});
      return;
    }
    modalKey = key;
    rootEl.textContent = "";
    var overlay = el("div", "pg-overlay");
    var modal = el("div", "pg-modal");
    modal.setAttribute("role", "dialog");
    modal.dataset.viewId = top.view_id;
    modal.dataset.callbackId = view.callback_id || "";
    var header = el("div", "pg-modal-header");
    if (stack.length > 1) {
      var back = el("button", "pg-modal-back", "←");
      back.type = "button";
      back.setAttribute("aria-label", w().back);
      back.addEventListener("click", function () {
        api("/api/view_closed", { view_id: top.view_id });
      });
      header.appendChild(back);
    }
    header.appendChild(el("div", "pg-modal-title", BlockKit.plain(view.title)));
    var x = el("button", "pg-modal-x", "×");
    x.type = "button";
    x.setAttribute("aria-label", w().close);
    var closeAll = function () {
      api("/api/view_closed", { view_id: stack[0].view_id });
    };
    x.addEventListener("click", closeAll);
    header.appendChild(x);
    modal.appendChild(header);
    var bodyEl = el("div", "pg-modal-body");
    bodyEl.appendChild(BlockKit.render(view.blocks || [], ctxFor("modal", {
      errors: top.errors || {},
      onAction: function (action) {
        return api("/api/action", { source: "view", view_id: top.view_id, action: action, state: BlockKit.collectState(bodyEl) });
      },
      onOptions: optionsFor(top.view_id),
      onUpload: upload,
    })));
    modal.appendChild(bodyEl);
    var footer = el("div", "pg-modal-footer");
    var cancel = el("button", "bk-button pg-modal-close", view.close ? BlockKit.plain(view.close) : w().cancel);
    cancel.type = "button";
    cancel.addEventListener("click", closeAll);
    footer.appendChild(cancel);
    if (view.submit || (view.blocks || []).some(function (b) { return b.type === "input"; })) {
      var submit = el("button", "bk-button bk-button-primary pg-modal-submit", view.submit ? BlockKit.plain(view.submit) : w().submit);
      submit.type = "button";
      submit.addEventListener("click", function () {
        submit.disabled = true;
        var pending = Array.prototype.map.call(bodyEl.querySelectorAll(".bk-file"), function (f) { return f._bkUploading; });
        Promise.all(pending).then(function () {
          return api("/api/view_submission", { view_id: top.view_id, state: BlockKit.collectState(bodyEl) });
        }).then(function (r) {
          submit.disabled = false;
          if (r && r.errors) applyErrors(bodyEl, r.errors);
        });
      });
      footer.appendChild(submit);
    }
    modal.appendChild(footer);
    overlay.appendChild(modal);
    rootEl.appendChild(overlay);
  }

  // ------------------------------------------------------------------ composer with slash-command hints

  function suggestions() {
    var value = $("pg-composer-input").value;
    if (value.charAt(0) !== "/" || value.indexOf(" ") >= 0) return [];
    return (state ? state.commands : []).filter(function (c) { return c.command.indexOf(value) === 0; });
  }

  function renderSuggestions() {
    var box = $("pg-suggest");
    var found = suggestions();
    box.textContent = "";
    box.hidden = !found.length;
    if (suggestIndex >= found.length) suggestIndex = found.length - 1;
    found.forEach(function (c, i) {
      var item = el("button", "pg-suggest-item" + (i === suggestIndex ? " pg-selected" : ""));
      item.type = "button";
      item.dataset.command = c.command;
      item.appendChild(el("strong", null, c.command));
      if (c.usage_hint) item.appendChild(el("span", "pg-hint", c.usage_hint));
      item.appendChild(el("span", "pg-desc", c.description));
      item.addEventListener("mousedown", function (ev) {
        ev.preventDefault();
        pick(c.command);
      });
      box.appendChild(item);
    });
  }

  function pick(command) {
    var input = $("pg-composer-input");
    input.value = command + " ";
    suggestIndex = -1;
    renderSuggestions();
    input.focus();
  }

  function send() {
    var input = $("pg-composer-input");
    var text = input.value.trim();
    if (!text || current.kind !== "channel") return;
    var channel = current.id;
    input.value = "";
    renderSuggestions();
    if (text.charAt(0) === "/") api("/api/command", { channel: channel, text: text });
    else api("/api/message", { channel: channel, text: text });
  }

  function switchTo(id) {
    me = id;
    localStorage.setItem("playground.me", id);
    thread = null;
    modalKey = null;
    messageCache.clear();
    $("pg-messages").dataset.key = "";
    render();
    if (current.kind === "home") api("/api/home_opened", {});
    scrollToBottom(true);
  }

  // A Slack permalink (https://<team>.slack.com/archives/<channel>/p<ts>) opens that message here,
  // as a Slack client does, instead of leaving the page.
  var PERMALINK = /\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})/;

  function followPermalink(ev) {
    var a = ev.target.closest && ev.target.closest("a[href]");
    var m = a && PERMALINK.exec(a.getAttribute("href"));
    if (!m) return;
    ev.preventDefault();
    var channel = state.channels.find(function (c) { return c.id === m[1]; });
    if (!channel || !canSee(channel)) {
      toast(w().not_member);
      return;
    }
    var ts = m[2] + "." + m[3];
    current = { kind: "channel", id: channel.id };
    thread = null;
    render();
    var target = document.querySelector("#pg-messages .pg-message[data-ts='" + ts + "']");
    if (target) {
      document.querySelectorAll(".pg-highlight").forEach(function (n) { n.classList.remove("pg-highlight"); });
      target.classList.add("pg-highlight");
      target.scrollIntoView({ block: "center" });
    }
  }

  function setup() {
    document.addEventListener("click", followPermalink, true);
    var params = new URLSearchParams(location.search);
    if (params.get("as")) me = params.get("as");
    $("pg-person").addEventListener("change", function (ev) {
      switchTo(ev.target.value);
    });
    var input = $("pg-composer-input");
    input.addEventListener("input", function () {
      suggestIndex = -1;
      renderSuggestions();
    });
    input.addEventListener("keydown", function (ev) {
      var found = suggestions();
      if (found.length && (ev.key === "ArrowDown" || ev.key === "ArrowUp")) {
        ev.preventDefault();
        suggestIndex = (suggestIndex + (ev.key === "ArrowDown" ? 1 : found.length - 1)) % found.length;
        renderSuggestions();
      } else if (found.length && (ev.key === "Tab" || (ev.key === "Enter" && suggestIndex >= 0))) {
        ev.preventDefault();
        pick(found[Math.max(0, suggestIndex)].command);
      } else if (ev.key === "Escape") {
        $("pg-suggest").hidden = true;
      }
    });
    $("pg-composer-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      send();
    });
    poll();
  }

  setup();
})();
