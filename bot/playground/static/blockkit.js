/*
 * Block Kit and mrkdwn renderer of the playground page (vanilla JS, no build step).
 *
 * It draws the bot's real payloads the way a Slack client shows them and collects what a person
 * enters in the shapes Slack sends back (`block_actions` actions, `view.state.values`). The shapes
 * follow Slack's reference pages (docs.slack.dev/reference/block-kit/...): blocks, block elements,
 * composition objects (text, option, confirm) and "Formatting message text" for mrkdwn.
 *
 * Nothing here uses innerHTML with payload text: every string goes in through textContent, so a
 * message can never inject markup into the page.
 *
 * Public API (window.BlockKit):
 *   render(blocks, ctx) -> HTMLElement      ctx: see `defaultContext`
 *   mrkdwn(text, ctx) -> DocumentFragment
 *   text(obj, ctx) -> Node                   a composition text object (plain_text or mrkdwn)
 *   collectState(root) -> {values: {...}}    view.state as Slack sends it
 *   problems(blocks, surface) -> [string]    what Slack would reject (drawn as an error instead)
 *   formatDate(seconds, format, ctx) -> string
 */
(function () {
  "use strict";

  // ------------------------------------------------------------------ context

  function defaultContext(ctx) {
    return Object.assign(
      {
        surface: "message", // message | modal | home
        tz: "UTC", // the viewer's IANA zone: <!date^...> and datetimepickers use it
        locale: "en-US", // the viewer's locale (date words, 12/24 h)
        people: {}, // user id -> {name, real_name}
        channels: {}, // channel id -> {name}
        errors: {}, // block_id -> message (response_action: errors)
        onAction: null, // function(action, blockId, element) for interactive elements
        onOptions: null, // async function(actionId, blockId, query) -> {options, option_groups}
        onUpload: null, // async function(File) -> {id, name}: a file picked in a file_input
        confirm: null, // async function(confirmObject) -> bool
        now: function () {
          return Date.now();
        },
      },
      ctx || {}
    );
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // ------------------------------------------------------------------ mrkdwn

  // Slack escapes exactly three characters in message text (&amp; &lt; &gt;); everything else is literal.
  function unescapeSlack(s) {
    return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  // Emoji shortcodes Slack turns into pictures (the ones the bot uses, and a few common ones);
  // an unknown :name: stays text, as Slack shows an unknown custom emoji.
  var EMOJI = {
    alarm_clock: "\u23F0", arrows_counterclockwise: "\u{1F504}", calendar: "\u{1F4C6}", hourglass: "\u231B",
    hourglass_flowing_sand: "\u23F3", lock: "\u{1F512}", mega: "\u{1F4E3}", no_bell: "\u{1F515}",
    no_entry: "\u26D4", no_entry_sign: "\u{1F6AB}", round_pushpin: "\u{1F4CD}", sparkles: "\u2728",
    star: "\u2B50", tada: "\u{1F389}", thinking_face: "\u{1F914}", wave: "\u{1F44B}",
    white_check_mark: "\u2705", x: "\u274C", zzz: "\u{1F4A4}", smile: "\u{1F604}", heart: "\u2764\uFE0F",
    "+1": "\u{1F44D}", thumbsup: "\u{1F44D}", eyes: "\u{1F440}", rocket: "\u{1F680}", warning: "\u26A0\uFE0F",
    bulb: "\u{1F4A1}", memo: "\u{1F4DD}", link: "\u{1F517}", bell: "\u{1F514}", briefcase: "\u{1F4BC}",
    handshake: "\u{1F91D}", email: "\u{1F4E7}", chart_with_upwards_trend: "\u{1F4C8}", page_facing_up: "\u{1F4C4}",
  };

  function emojify(s) {
    return s.replace(/:([a-z0-9_+-]+):/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(EMOJI, name) ? EMOJI[name] : whole;
    });
  }

  var SAFE_URL = /^(https?:|mailto:)/i;

  // <...> control sequences: links, mentions, channels, special mentions and dates.
  function controlNode(inner, ctx) {
    var pipe = inner.indexOf("|");
    var target = pipe >= 0 ? inner.slice(0, pipe) : inner;
    var label = pipe >= 0 ? inner.slice(pipe + 1) : null;
    var node;
    if (target.charAt(0) === "@") {
      var uid = target.slice(1);
      var person = ctx.people[uid];
      node = el("span", "bk-mention", "@" + (person ? person.real_name || person.name : label || uid));
      node.dataset.user = uid;
      return node;
    }
    if (target.charAt(0) === "#") {
      var cid = target.slice(1);
      var channel = ctx.channels[cid];
      node = el("span", "bk-channel", "#" + (channel ? channel.name : label || cid));
      node.dataset.channel = cid;
      return node;
    }
    if (target.charAt(0) === "!") {
      var parts = target.slice(1).split("^");
      if (parts[0] === "date" && parts.length >= 3) {
        var seconds = Number(parts[1]);
        var shown = isFinite(seconds) ? formatDate(seconds, parts[2], ctx) : null;
        node = el("span", "bk-date", shown === null ? unescapeSlack(label || "") : shown);
        if (isFinite(seconds)) node.dataset.timestamp = String(seconds);
        if (parts[3] && SAFE_URL.test(parts[3])) {
          var a = el("a", "bk-link");
          a.href = parts[3];
          a.target = "_blank";
          a.rel = "noopener noreferrer";
          a.appendChild(node);
          return a;
        }
        return node;
      }
      if (parts[0] === "subteam") return el("span", "bk-mention", "@" + unescapeSlack(label || parts[1] || ""));
      if (parts[0] === "here" || parts[0] === "channel" || parts[0] === "everyone") {
        return el("span", "bk-mention bk-broadcast", "@" + parts[0]);
      }
      return document.createTextNode(unescapeSlack(label || ""));
    }
    var url = unescapeSlack(target);
    if (SAFE_URL.test(url)) {
      var link = el("a", "bk-link", unescapeSlack(label === null ? target : label));
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      return link;
    }
    // Not something Slack parses: shown as typed.
    return document.createTextNode("<" + unescapeSlack(inner) + ">");
  }

  // Inline styles: *bold*, _italic_, ~strike~. A marker opens only after a non-word character
  // and must hug its text (`* not bold *`), as in Slack. ASCII word characters only, so markers
  // right next to Japanese text still work.
  var STYLE = /(^|[^A-Za-z0-9*_~])([*_~])(?=\S)([^\n]*?\S)\2(?![A-Za-z0-9])/;
  var STYLE_TAG = { "*": "b", _: "i", "~": "s" };

  function appendStyled(parent, raw, ctx, depth, controls) {
    var rest = raw;
    while (rest) {
      var m = depth < 4 ? STYLE.exec(rest) : null;
      if (!m) {
        appendWithControls(parent, rest, ctx, controls);
        return;
      }
      var start = m.index + m[1].length;
      appendWithControls(parent, rest.slice(0, start), ctx, controls);
      var styled = el(STYLE_TAG[m[2]]);
      appendStyled(styled, m[3], ctx, depth + 1, controls);
      parent.appendChild(styled);
      rest = rest.slice(m.index + m[0].length);
    }
  }

  // Control sequences were swapped for placeholders (private-use characters) before styles were
  // parsed, so a `_` or `*` inside a URL never starts italics or bold.
  var PLACEHOLDER = /\uE000(\d+)\uE001/g;

  function appendWithControls(parent, raw, ctx, controls) {
    var last = 0;
    var m;
    PLACEHOLDER.lastIndex = 0;
    while ((m = PLACEHOLDER.exec(raw)) !== null) {
      if (m.index > last) parent.appendChild(document.createTextNode(emojify(unescapeSlack(raw.slice(last, m.index)))));
      parent.appendChild(controlNode(controls[Number(m[1])], ctx));
      last = m.index + m[0].length;
    }
    if (last < raw.length) parent.appendChild(document.createTextNode(emojify(unescapeSlack(raw.slice(last)))));
  }

  function restoreControls(raw, controls) {
    return raw.replace(PLACEHOLDER, function (whole, i) {
      return "<" + controls[Number(i)] + ">";
    });
  }

  // Inline code spans first (their content is literal), then styles and controls.
  function appendInline(parent, raw, ctx) {
    var controls = [];
    var protectedRaw = raw.replace(/<([^<>\n]+)>/g, function (whole, inner) {
      controls.push(inner);
      return "\uE000" + (controls.length - 1) + "\uE001";
    });
    var parts = protectedRaw.split(/(`[^`\n]+`)/);
    parts.forEach(function (part) {
      if (part.length > 2 && part.charAt(0) === "`" && part.charAt(part.length - 1) === "`") {
        parent.appendChild(el("code", "bk-code", unescapeSlack(restoreControls(part.slice(1, -1), controls))));
      } else if (part) {
        appendStyled(parent, part, ctx, 0, controls);
      }
    });
  }

  var LIST_ITEM = /^(\s*)([•◦▪\-*]|\d+[.)])\s+(.*)$/;

  function mrkdwn(text, ctx) {
    ctx = defaultContext(ctx);
    var frag = document.createDocumentFragment();
    var chunks = String(text || "").split(/```/);
    chunks.forEach(function (chunk, i) {
      if (i % 2 === 1) {
        frag.appendChild(el("pre", "bk-pre", unescapeSlack(chunk.replace(/^\n/, ""))));
        return;
      }
      var lines = chunk.split("\n");
      var list = null;
      var quote = null;
      lines.forEach(function (line, j) {
        var item = LIST_ITEM.exec(line);
        var quoted = /^(&gt;|>)\s?/.exec(line);
        if (item && !(item[2] === "*" && /\*\S/.test(line.trim()))) {
          if (!list) {
            list = el("ul", "bk-list");
            frag.appendChild(list);
          }
          var li = el("li", "bk-list-item");
          li.style.paddingLeft = item[1].length * 8 + "px";
          li.dataset.bullet = /\d/.test(item[2]) ? item[2] : "•";
          appendInline(li, item[3], ctx);
          list.appendChild(li);
          quote = null;
          return;
        }
        list = null;
        if (quoted) {
          if (!quote) {
            quote = el("blockquote", "bk-quote");
            frag.appendChild(quote);
          } else {
            quote.appendChild(document.createElement("br"));
          }
          appendInline(quote, line.slice(quoted[0].length), ctx);
          return;
        }
        quote = null;
        var span = el("span", "bk-line");
        appendInline(span, line, ctx);
        frag.appendChild(span);
        if (j < lines.length - 1) frag.appendChild(document.createElement("br"));
      });
    });
    return frag;
  }

  // ------------------------------------------------------------------ dates in the viewer's zone

  function parts(date, ctx, options) {
    var fmt = new Intl.DateTimeFormat(ctx.locale, Object.assign({ timeZone: ctx.tz }, options));
    return fmt.format(date);
  }

  function dayKey(date, tz) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
  }

  function relativeDay(date, ctx) {
    var today = new Date(ctx.now());
    var key = dayKey(date, ctx.tz);
    var ja = /^ja/i.test(ctx.locale);
    if (key === dayKey(today, ctx.tz)) return ja ? "今日" : "Today";
    if (key === dayKey(new Date(today.getTime() - 86400000), ctx.tz)) return ja ? "昨日" : "Yesterday";
    if (key === dayKey(new Date(today.getTime() + 86400000), ctx.tz)) return ja ? "明日" : "Tomorrow";
    return null;
  }

  // Tokens from Slack's "Formatting message text" page (date formatting with <!date^...>).
  function formatDate(seconds, format, ctx) {
    ctx = defaultContext(ctx);
    var date = new Date(seconds * 1000);
    if (isNaN(date.getTime())) return null;
    var dateLong = { weekday: "long", year: "numeric", month: "long", day: "numeric" };
    var dateMid = { year: "numeric", month: "long", day: "numeric" };
    var dateShort = { year: "numeric", month: "short", day: "numeric" };
    var tokens = {
      date_num: function () {
        return dayKey(date, ctx.tz);
      },
      date_slash: function () {
        return parts(date, ctx, { year: "numeric", month: "2-digit", day: "2-digit" });
      },
      date: function () {
        return parts(date, ctx, dateMid);
      },
      date_short: function () {
        return parts(date, ctx, dateShort);
      },
      date_long: function () {
        return parts(date, ctx, dateLong);
      },
      date_long_full: function () {
        return parts(date, ctx, dateMid);
      },
      date_pretty: function () {
        return relativeDay(date, ctx) || parts(date, ctx, dateMid);
      },
      date_short_pretty: function () {
        return relativeDay(date, ctx) || parts(date, ctx, dateShort);
      },
      date_long_pretty: function () {
        return relativeDay(date, ctx) || parts(date, ctx, dateLong);
      },
      day_divider_pretty: function () {
        return relativeDay(date, ctx) || parts(date, ctx, dateLong);
      },
      time: function () {
        return parts(date, ctx, { hour: "numeric", minute: "2-digit" });
      },
      time_secs: function () {
        return parts(date, ctx, { hour: "numeric", minute: "2-digit", second: "2-digit" });
      },
      ago: function () {
        var minutes = Math.round((ctx.now() - date.getTime()) / 60000);
        var rtf = new Intl.RelativeTimeFormat(ctx.locale, { numeric: "auto" });
        if (Math.abs(minutes) < 60) return rtf.format(-minutes, "minute");
        if (Math.abs(minutes) < 1440) return rtf.format(-Math.round(minutes / 60), "hour");
        return rtf.format(-Math.round(minutes / 1440), "day");
      },
    };
    var unknown = false;
    var out = String(format).replace(/\{([a-z_]+)\}/g, function (whole, name) {
      if (!tokens[name]) {
        unknown = true;
        return whole;
      }
      return tokens[name]();
    });
    return unknown ? null : out;
  }

  // The UTC instant of a wall-clock time in `tz` (for datetimepicker values typed in the viewer's zone).
  function zonedToEpoch(year, month, day, hour, minute, tz) {
    var guess = Date.UTC(year, month - 1, day, hour, minute);
    for (var i = 0; i < 2; i++) {
      var shown = new Intl.DateTimeFormat("en-US", {
        timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      }).formatToParts(new Date(guess));
      var get = function (t) {
        return Number(shown.find(function (p) { return p.type === t; }).value);
      };
      var asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"));
      guess -= asUtc - Date.UTC(year, month - 1, day, hour, minute);
    }
    return Math.round(guess / 1000);
  }

  function epochToLocalInput(seconds, tz) {
    var p = new Intl.DateTimeFormat("en-CA", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    }).formatToParts(new Date(seconds * 1000));
    var get = function (t) {
      return p.find(function (x) { return x.type === t; }).value;
    };
    return get("year") + "-" + get("month") + "-" + get("day") + "T" + get("hour") + ":" + get("minute");
  }

  // ------------------------------------------------------------------ text objects

  function text(obj, ctx, cls) {
    ctx = defaultContext(ctx);
    var span = el("span", cls || "bk-text");
    if (!obj) return span;
    if (obj.type === "mrkdwn" && !obj.verbatim) {
      span.classList.add("bk-mrkdwn");
      span.appendChild(mrkdwn(obj.text, ctx));
    } else if (obj.type === "mrkdwn") {
      span.classList.add("bk-mrkdwn");
      span.textContent = unescapeSlack(obj.text || "");
    } else {
      // plain_text is not parsed, except emoji shortcodes when `emoji` is true (Slack's default).
      span.textContent = obj.emoji === false ? obj.text || "" : emojify(obj.text || "");
    }
    return span;
  }

  function plain(obj) {
    return obj && typeof obj.text === "string" ? obj.text : "";
  }

  // ------------------------------------------------------------------ what Slack would reject

  var BLOCK_TYPES = ["section", "divider", "image", "actions", "context", "input", "header", "rich_text", "file", "video"];
  var ELEMENT_TYPES = [
    "button", "checkboxes", "radio_buttons", "overflow", "datepicker", "timepicker", "datetimepicker",
    "static_select", "external_select", "users_select", "conversations_select", "channels_select",
    "multi_static_select", "multi_external_select", "multi_users_select", "multi_conversations_select",
    "multi_channels_select", "plain_text_input", "number_input", "email_text_input", "url_text_input",
    "file_input", "image", "rich_text_input",
  ];

  // A small subset of Slack's Block Kit validation (the emulator does the full check server side):
  // enough that a payload the renderer cannot draw faithfully is shown as Slack's error instead.
  function problems(blocks, surface) {
    var out = [];
    if (!Array.isArray(blocks)) return ["blocks must be an array"];
    var limit = surface === "message" ? 50 : 100;
    if (blocks.length > limit) out.push("no more than " + limit + " items allowed [json-pointer:/blocks]");
    var seen = {};
    blocks.forEach(function (block, i) {
      var where = "[json-pointer:/blocks/" + i + "]";
      if (!block || BLOCK_TYPES.indexOf(block.type) < 0) {
        out.push("unsupported block type " + JSON.stringify(block && block.type) + " " + where);
        return;
      }
      if (block.block_id) {
        if (seen[block.block_id]) out.push("duplicate block_id " + JSON.stringify(block.block_id) + " " + where);
        seen[block.block_id] = true;
      }
      if (block.type === "header" && (!block.text || block.text.type !== "plain_text")) {
        out.push("header text must be plain_text " + where);
      }
      if (block.type === "section" && !block.text && !(block.fields && block.fields.length)) {
        out.push("section needs text or fields " + where);
      }
      if (block.type === "input") {
        if (!block.element || ELEMENT_TYPES.indexOf(block.element.type) < 0) {
          out.push("unsupported element type " + JSON.stringify(block.element && block.element.type) + " " + where);
        }
        if (!block.label || block.label.type !== "plain_text") out.push("input label must be plain_text " + where);
      }
      var elements = block.type === "actions" ? block.elements || [] : block.accessory ? [block.accessory] : [];
      elements.forEach(function (element, j) {
        if (!element || ELEMENT_TYPES.indexOf(element.type) < 0) {
          out.push("unsupported element type " + JSON.stringify(element && element.type) + " " + where + "/elements/" + j);
        } else if (element.type === "button" && plain(element.text).length > 75) {
          out.push("must be less than 76 characters [json-pointer:/blocks/" + i + "/elements/" + j + "/text/text]");
        }
      });
    });
    return out;
  }

  function errorBox(list) {
    var box = el("div", "bk-slack-error");
    box.appendChild(el("strong", null, "invalid_blocks"));
    var ul = el("ul");
    list.forEach(function (p) {
      ul.appendChild(el("li", null, p));
    });
    box.appendChild(ul);
    return box;
  }

  // ------------------------------------------------------------------ blocks

  function render(blocks, ctx) {
    ctx = defaultContext(ctx);
    var root = el("div", "bk-blocks bk-surface-" + ctx.surface);
    var found = problems(blocks, ctx.surface);
    if (found.length) {
      root.appendChild(errorBox(found));
      return root;
    }
    blocks.forEach(function (block) {
      var node = renderBlock(block, ctx);
      node.classList.add("bk-block", "bk-block-" + block.type);
      if (block.block_id) node.dataset.blockId = block.block_id;
      root.appendChild(node);
    });
    return root;
  }

  function renderBlock(block, ctx) {
    switch (block.type) {
      case "header": {
        var h = el("div");
        h.appendChild(text(block.text, ctx));
        return h;
      }
      case "divider":
        return el("hr");
      case "section":
        return section(block, ctx);
      case "context": {
        var c = el("div");
        (block.elements || []).forEach(function (item) {
          if (item.type === "image") {
            var img = el("img", "bk-context-image");
            img.src = item.image_url || "";
            img.alt = item.alt_text || "";
            c.appendChild(img);
          } else {
            c.appendChild(text(item, ctx, "bk-context-text"));
          }
        });
        return c;
      }
      case "image": {
        var figure = el("figure");
        if (block.title) figure.appendChild(text(block.title, ctx, "bk-image-title"));
        var image = el("img", "bk-image");
        image.src = block.image_url || (block.slack_file && block.slack_file.url) || "";
        image.alt = block.alt_text || "";
        figure.appendChild(image);
        return figure;
      }
      case "actions": {
        var row = el("div");
        (block.elements || []).forEach(function (element) {
          row.appendChild(interactive(element, block, ctx, true));
        });
        return row;
      }
      case "input":
        return input(block, ctx);
      case "rich_text":
        return richText(block, ctx);
      default: {
        var other = el("div", "bk-unsupported");
        other.textContent = "[" + block.type + "]";
        return other;
      }
    }
  }

  function section(block, ctx) {
    var node = el("div");
    var body = el("div", "bk-section-body");
    if (block.text) body.appendChild(text(block.text, ctx, "bk-section-text"));
    if (block.fields && block.fields.length) {
      var grid = el("div", "bk-fields");
      block.fields.forEach(function (field) {
        grid.appendChild(text(field, ctx, "bk-field"));
      });
      body.appendChild(grid);
    }
    node.appendChild(body);
    if (block.accessory) {
      var side = el("div", "bk-accessory");
      if (block.accessory.type === "image") {
        var img = el("img", "bk-accessory-image");
        img.src = block.accessory.image_url || "";
        img.alt = block.accessory.alt_text || "";
        side.appendChild(img);
      } else {
        side.appendChild(interactive(block.accessory, block, ctx, true));
      }
      node.appendChild(side);
    }
    return node;
  }

  function input(block, ctx) {
    var node = el("div");
    var label = el("label", "bk-label");
    label.textContent = plain(block.label);
    if (block.optional) label.appendChild(el("span", "bk-optional", /^ja/i.test(ctx.locale) ? "（任意）" : "(optional)"));
    node.appendChild(label);
    node.appendChild(interactive(block.element, block, ctx, !!block.dispatch_action));
    if (block.hint) node.appendChild(text(block.hint, ctx, "bk-hint"));
    var error = block.block_id && ctx.errors[block.block_id];
    if (error) {
      node.classList.add("bk-has-error");
      node.appendChild(el("div", "bk-field-error", error));
    }
    return node;
  }

  function richText(block, ctx) {
    var node = el("div");
    (block.elements || []).forEach(function (part) {
      var holder = el(part.type === "rich_text_list" ? "ul" : part.type === "rich_text_preformatted" ? "pre" : part.type === "rich_text_quote" ? "blockquote" : "div");
      var items = part.type === "rich_text_list" ? part.elements || [] : [part];
      items.forEach(function (item) {
        var line = el(part.type === "rich_text_list" ? "li" : "span");
        (item.elements || []).forEach(function (leaf) {
          var n;
          if (leaf.type === "text") n = el("span", null, leaf.text || "");
          else if (leaf.type === "link") {
            n = el("a", "bk-link", leaf.text || leaf.url);
            if (SAFE_URL.test(leaf.url || "")) n.href = leaf.url;
          } else if (leaf.type === "user") n = controlNode("@" + leaf.user_id, ctx);
          else if (leaf.type === "channel") n = controlNode("#" + leaf.channel_id, ctx);
          else if (leaf.type === "date") n = el("span", "bk-date", formatDate(leaf.timestamp, leaf.format, ctx) || leaf.fallback || "");
          else if (leaf.type === "emoji") n = el("span", null, leaf.unicode ? String.fromCodePoint(parseInt(leaf.unicode, 16)) : ":" + leaf.name + ":");
          else n = el("span", null, "");
          if (leaf.style) {
            if (leaf.style.bold) n.style.fontWeight = "bold";
            if (leaf.style.italic) n.style.fontStyle = "italic";
            if (leaf.style.strike) n.style.textDecoration = "line-through";
            if (leaf.style.code) n.classList.add("bk-code");
          }
          line.appendChild(n);
        });
        holder.appendChild(line);
      });
      node.appendChild(holder);
    });
    return node;
  }

  // ------------------------------------------------------------------ elements

  function optionText(option) {
    return plain(option && option.text);
  }

  function sameOption(a, b) {
    return a && b && a.value === b.value;
  }

  function allOptions(element) {
    if (element.options) return element.options;
    var out = [];
    (element.option_groups || []).forEach(function (g) {
      out = out.concat(g.options || []);
    });
    return out;
  }

  // Sends a block_actions action (after the confirm dialog, when the element has one).
  function fire(element, block, ctx, extra) {
    if (!ctx.onAction) return Promise.resolve();
    var action = Object.assign({ type: element.type, action_id: element.action_id, block_id: block.block_id }, extra);
    var go = function () {
      return ctx.onAction(action, block.block_id, element);
    };
    if (element.confirm) {
      return Promise.resolve((ctx.confirm || confirmDialog)(element.confirm, ctx)).then(function (ok) {
        if (ok) return go();
      });
    }
    return go();
  }

  function interactive(element, block, ctx, dispatch) {
    var wrap = el("div", "bk-element bk-el-" + element.type);
    wrap.dataset.actionId = element.action_id || "";
    wrap.dataset.type = element.type;
    if (block.block_id) wrap.dataset.blockId = block.block_id;
    var widget = elementWidget(element, block, ctx, dispatch, wrap);
    if (widget) wrap.appendChild(widget);
    return wrap;
  }

  function elementWidget(element, block, ctx, dispatch, wrap) {
    var placeholder = plain(element.placeholder);
    switch (element.type) {
      case "button": {
        var b = el("button", "bk-button" + (element.style ? " bk-button-" + element.style : ""), emojify(plain(element.text)));
        b.type = "button";
        if (element.accessibility_label) b.setAttribute("aria-label", element.accessibility_label);
        b.addEventListener("click", function () {
          if (element.url && SAFE_URL.test(element.url)) window.open(element.url, "_blank", "noopener");
          var extra = { text: element.text };
          if (element.value !== undefined) extra.value = element.value;
          if (element.style) extra.style = element.style;
          b.disabled = true;
          Promise.resolve(fire(element, block, ctx, extra)).finally(function () {
            b.disabled = false;
          });
        });
        return b;
      }
      case "overflow": {
        var box = el("div", "bk-overflow");
        var toggle = el("button", "bk-overflow-toggle", "⋯");
        toggle.type = "button";
        toggle.setAttribute("aria-label", "More actions");
        var menu = el("div", "bk-menu");
        menu.hidden = true;
        (element.options || []).forEach(function (option) {
          var item = el("button", "bk-menu-item", optionText(option));
          item.type = "button";
          item.addEventListener("click", function () {
            menu.hidden = true;
            if (option.url && SAFE_URL.test(option.url)) window.open(option.url, "_blank", "noopener");
            fire(element, block, ctx, { selected_option: option });
          });
          menu.appendChild(item);
        });
        toggle.addEventListener("click", function () {
          menu.hidden = !menu.hidden;
        });
        box.appendChild(toggle);
        box.appendChild(menu);
        return box;
      }
      case "static_select":
      case "multi_static_select":
        return staticSelect(element, block, ctx, dispatch, placeholder);
      case "users_select":
      case "multi_users_select":
        return entitySelect(element, block, ctx, dispatch, placeholder, peopleOptions(ctx), "user");
      case "conversations_select":
      case "multi_conversations_select":
        return entitySelect(element, block, ctx, dispatch, placeholder, channelOptions(ctx), "conversation");
      case "channels_select":
      case "multi_channels_select":
        return entitySelect(element, block, ctx, dispatch, placeholder, channelOptions(ctx, true), "channel");
      case "external_select":
      case "multi_external_select":
        return externalSelect(element, block, ctx, dispatch, placeholder, wrap);
      case "checkboxes":
      case "radio_buttons":
        return choices(element, block, ctx, dispatch);
      case "datepicker": {
        var d = el("input", "bk-input");
        d.type = "date";
        if (element.initial_date) d.value = element.initial_date;
        d.addEventListener("change", function () {
          if (dispatch) fire(element, block, ctx, { selected_date: d.value || null });
        });
        return d;
      }
      case "timepicker": {
        var tp = el("input", "bk-input");
        tp.type = "time";
        if (element.initial_time) tp.value = element.initial_time;
        tp.addEventListener("change", function () {
          if (dispatch) fire(element, block, ctx, { selected_time: tp.value || null });
        });
        return tp;
      }
      case "datetimepicker": {
        var dt = el("input", "bk-input");
        dt.type = "datetime-local";
        dt.dataset.tz = ctx.tz;
        if (element.initial_date_time) dt.value = epochToLocalInput(element.initial_date_time, ctx.tz);
        dt.addEventListener("change", function () {
          if (dispatch) fire(element, block, ctx, { selected_date_time: datetimeValue(dt) });
        });
        var holder = el("span", "bk-datetime");
        holder.appendChild(dt);
        holder.appendChild(el("span", "bk-tz", ctx.tz));
        return holder;
      }
      case "plain_text_input":
      case "number_input":
      case "email_text_input":
      case "url_text_input":
      case "rich_text_input": {
        var multiline = element.type === "plain_text_input" && element.multiline;
        var field = el(multiline ? "textarea" : "input", "bk-input");
        if (!multiline) {
          field.type = { number_input: "number", email_text_input: "email", url_text_input: "url" }[element.type] || "text";
        }
        if (element.type === "number_input") {
          field.step = element.is_decimal_allowed ? "any" : "1";
          if (element.min_value !== undefined) field.min = element.min_value;
          if (element.max_value !== undefined) field.max = element.max_value;
        }
        if (element.max_length) field.maxLength = element.max_length;
        if (element.initial_value !== undefined && element.initial_value !== null) field.value = element.initial_value;
        field.placeholder = placeholder;
        if (element.focus_on_load) field.autofocus = true;
        if (dispatch) {
          field.addEventListener("keydown", function (ev) {
            if (ev.key === "Enter" && !multiline) fire(element, block, ctx, { value: field.value });
          });
        }
        return field;
      }
      case "file_input": {
        var f = el("input", "bk-input bk-file");
        f.type = "file";
        if (element.filetypes) f.accept = element.filetypes.map(function (t) { return "." + t; }).join(",");
        if (element.max_files > 1) f.multiple = true;
        f._bkFiles = [];
        // Slack uploads what the person picks and puts the files' ids in view.state (`files`).
        f.addEventListener("change", function () {
          if (!ctx.onUpload) return;
          f._bkFiles = [];
          f._bkUploading = Promise.all(Array.prototype.map.call(f.files, function (file) {
            return Promise.resolve(ctx.onUpload(file)).then(function (uploaded) {
              if (uploaded) f._bkFiles.push(uploaded);
            });
          }));
        });
        return f;
      }
      case "image": {
        var img = el("img", "bk-accessory-image");
        img.src = element.image_url || "";
        img.alt = element.alt_text || "";
        return img;
      }
      default:
        return el("span", "bk-unsupported", "[" + element.type + "]");
    }
  }

  function datetimeValue(input) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(input.value || "");
    if (!m) return null;
    return zonedToEpoch(+m[1], +m[2], +m[3], +m[4], +m[5], input.dataset.tz || "UTC");
  }

  function staticSelect(element, block, ctx, dispatch, placeholder) {
    var multi = element.type.indexOf("multi_") === 0;
    var select = el("select", "bk-select");
    select.multiple = multi;
    if (!multi) {
      var none = el("option", null, placeholder || "—");
      none.value = "";
      select.appendChild(none);
    } else if (placeholder) {
      select.title = placeholder;
    }
    var options = allOptions(element);
    var initial = multi ? element.initial_options || [] : element.initial_option ? [element.initial_option] : [];
    var addOption = function (parent, option) {
      var o = el("option", null, optionText(option));
      o.value = String(options.indexOf(option));
      o.selected = initial.some(function (i) { return sameOption(i, option); });
      parent.appendChild(o);
    };
    if (element.option_groups) {
      element.option_groups.forEach(function (group) {
        var g = el("optgroup");
        g.label = plain(group.label);
        (group.options || []).forEach(function (option) { addOption(g, option); });
        select.appendChild(g);
      });
    } else {
      options.forEach(function (option) { addOption(select, option); });
    }
    if (multi) select.size = Math.min(6, Math.max(2, options.length));
    select._bkValue = function () {
      var chosen = Array.prototype.filter.call(select.options, function (o) { return o.selected && o.value !== ""; })
        .map(function (o) { return options[Number(o.value)]; });
      return multi ? { selected_options: chosen } : { selected_option: chosen[0] || null };
    };
    select.addEventListener("change", function () {
      if (dispatch) fire(element, block, ctx, select._bkValue());
    });
    return select;
  }

  function peopleOptions(ctx) {
    return Object.keys(ctx.people).map(function (id) {
      var p = ctx.people[id];
      return { id: id, label: p.real_name || p.name };
    });
  }

  function channelOptions(ctx, publicOnly) {
    return Object.keys(ctx.channels)
      .filter(function (id) { return !publicOnly || ctx.channels[id].kind === "public"; })
      .map(function (id) { return { id: id, label: (ctx.channels[id].kind === "im" ? "@" : "#") + ctx.channels[id].name }; });
  }

  function entitySelect(element, block, ctx, dispatch, placeholder, entries, noun) {
    var multi = element.type.indexOf("multi_") === 0;
    var select = el("select", "bk-select");
    select.multiple = multi;
    var initialKey = multi ? "initial_" + noun + "s" : "initial_" + noun;
    var initial = element[initialKey];
    initial = initial ? (Array.isArray(initial) ? initial : [initial]) : [];
    if (!multi) {
      var none = el("option", null, placeholder || "—");
      none.value = "";
      select.appendChild(none);
    }
    entries.forEach(function (entry) {
      var o = el("option", null, entry.label);
      o.value = entry.id;
      o.selected = initial.indexOf(entry.id) >= 0;
      select.appendChild(o);
    });
    if (multi) select.size = Math.min(6, Math.max(2, entries.length));
    select._bkValue = function () {
      var chosen = Array.prototype.filter.call(select.options, function (o) { return o.selected && o.value; })
        .map(function (o) { return o.value; });
      var out = {};
      if (multi) out["selected_" + noun + "s"] = chosen;
      else out["selected_" + noun] = chosen[0] || null;
      return out;
    };
    select.addEventListener("change", function () {
      if (dispatch) fire(element, block, ctx, select._bkValue());
    });
    return select;
  }

  // An external select asks the bot for options as the person types (block_suggestion).
  function externalSelect(element, block, ctx, dispatch, placeholder) {
    var multi = element.type === "multi_external_select";
    var box = el("div", "bk-external");
    var chosen = multi ? (element.initial_options || []).slice() : element.initial_option ? [element.initial_option] : [];
    var chips = el("div", "bk-chips");
    var search = el("input", "bk-input bk-external-search");
    search.type = "text";
    search.placeholder = placeholder;
    var list = el("div", "bk-menu bk-suggestions");
    list.hidden = true;
    var draw = function () {
      chips.textContent = "";
      chosen.forEach(function (option, i) {
        var chip = el("span", "bk-chip", optionText(option));
        var x = el("button", "bk-chip-remove", "×");
        x.type = "button";
        x.addEventListener("click", function () {
          chosen.splice(i, 1);
          draw();
          if (dispatch) fire(element, block, ctx, box._bkValue());
        });
        chip.appendChild(x);
        chips.appendChild(chip);
      });
    };
    var timer = null;
    var ask = function () {
      if (!ctx.onOptions) return;
      var query = search.value;
      if (query.length < (element.min_query_length === undefined ? 3 : element.min_query_length)) {
        list.hidden = true;
        return;
      }
      Promise.resolve(ctx.onOptions(element.action_id, block.block_id, query)).then(function (answer) {
        list.textContent = "";
        var options = (answer && answer.options) || [];
        ((answer && answer.option_groups) || []).forEach(function (g) { options = options.concat(g.options || []); });
        options.forEach(function (option) {
          var item = el("button", "bk-menu-item", optionText(option));
          item.type = "button";
          item.addEventListener("click", function () {
            if (multi) chosen.push(option);
            else chosen = [option];
            search.value = "";
            list.hidden = true;
            draw();
            if (dispatch) fire(element, block, ctx, box._bkValue());
          });
          list.appendChild(item);
        });
        if (!options.length) list.appendChild(el("div", "bk-menu-empty", /^ja/i.test(ctx.locale) ? "該当なし" : "No results"));
        list.hidden = false;
      });
    };
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    });
    box._bkValue = function () {
      return multi ? { selected_options: chosen.slice() } : { selected_option: chosen[0] || null };
    };
    draw();
    box.appendChild(chips);
    box.appendChild(search);
    box.appendChild(list);
    return box;
  }

  function choices(element, block, ctx, dispatch) {
    var radio = element.type === "radio_buttons";
    var group = el("div", "bk-choices");
    var name = "bk-" + (block.block_id || "") + "-" + (element.action_id || "") + "-" + Math.random().toString(36).slice(2);
    var options = element.options || [];
    var initial = radio ? (element.initial_option ? [element.initial_option] : []) : element.initial_options || [];
    options.forEach(function (option, i) {
      var label = el("label", "bk-choice");
      var box = el("input");
      box.type = radio ? "radio" : "checkbox";
      box.name = name;
      box.value = String(i);
      box.checked = initial.some(function (o) { return sameOption(o, option); });
      label.appendChild(box);
      var words = el("span", "bk-choice-text");
      words.appendChild(text(option.text, ctx));
      if (option.description) words.appendChild(text(option.description, ctx, "bk-choice-description"));
      label.appendChild(words);
      box.addEventListener("change", function () {
        if (dispatch) fire(element, block, ctx, group._bkValue());
      });
      group.appendChild(label);
    });
    group._bkValue = function () {
      var picked = Array.prototype.filter.call(group.querySelectorAll("input"), function (i) { return i.checked; })
        .map(function (i) { return options[Number(i.value)]; });
      return radio ? { selected_option: picked[0] || null } : { selected_options: picked };
    };
    return group;
  }

  // ------------------------------------------------------------------ state (view.state.values)

  function elementValue(wrap) {
    var type = wrap.dataset.type;
    var widget = wrap.firstChild;
    if (!widget) return null;
    if (widget._bkValue) return widget._bkValue();
    switch (type) {
      case "datepicker":
        return { selected_date: widget.value || null };
      case "timepicker":
        return { selected_time: widget.value || null };
      case "datetimepicker":
        return { selected_date_time: datetimeValue(widget.querySelector("input")) };
      case "plain_text_input":
      case "number_input":
      case "email_text_input":
      case "url_text_input":
      case "rich_text_input":
        // Slack sends null for an empty text field.
        return { value: widget.value === "" ? null : widget.value };
      case "file_input":
        return { files: widget._bkFiles || [] };
      default:
        return null;
    }
  }

  function collectState(root) {
    var values = {};
    root.querySelectorAll(".bk-element").forEach(function (wrap) {
      var type = wrap.dataset.type;
      if (type === "button" || type === "overflow" || type === "image") return;
      var value = elementValue(wrap);
      if (!value) return;
      var blockId = wrap.dataset.blockId || "";
      values[blockId] = values[blockId] || {};
      values[blockId][wrap.dataset.actionId] = Object.assign({ type: type }, value);
    });
    return { values: values };
  }

  // ------------------------------------------------------------------ confirm dialog (composition object)

  function confirmDialog(confirm, ctx) {
    ctx = defaultContext(ctx);
    return new Promise(function (resolve) {
      var overlay = el("div", "pg-overlay bk-confirm-overlay");
      var modal = el("div", "pg-modal pg-confirm");
      modal.setAttribute("role", "alertdialog");
      var header = el("div", "pg-modal-header");
      header.appendChild(el("div", "pg-modal-title", plain(confirm.title)));
      var body = el("div", "pg-modal-body");
      body.appendChild(text(confirm.text, ctx));
      var footer = el("div", "pg-modal-footer");
      var deny = el("button", "bk-button bk-confirm-deny", plain(confirm.deny) || "Cancel");
      var ok = el("button", "bk-button bk-confirm-ok " + (confirm.style === "danger" ? "bk-button-danger" : "bk-button-primary"), plain(confirm.confirm) || "OK");
      deny.type = ok.type = "button";
      var done = function (answer) {
        overlay.remove();
        resolve(answer);
      };
      deny.addEventListener("click", function () { done(false); });
      ok.addEventListener("click", function () { done(true); });
      footer.appendChild(deny);
      footer.appendChild(ok);
      modal.appendChild(header);
      modal.appendChild(body);
      modal.appendChild(footer);
      overlay.appendChild(modal);
      document.body.appendChild(overlay);
    });
  }

  window.BlockKit = {
    render: render,
    mrkdwn: mrkdwn,
    text: text,
    plain: plain,
    collectState: collectState,
    problems: problems,
    formatDate: formatDate,
    zonedToEpoch: zonedToEpoch,
    errorBox: errorBox,
    confirmDialog: confirmDialog,
    emojify: emojify,
  };
})();
