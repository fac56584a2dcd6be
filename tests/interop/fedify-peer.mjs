// Broadside interop peer built on Fedify 2.3.6 (an independent ActivityPub
// implementation with strict HTTP-signature checks).
//
//   node22 fedify-peer.mjs [HANDLE_OR_URL]
//
// Serves one actor, `peer`, at ${PEER_ORIGIN}/users/peer (default
// https://peer.test/users/peer) on plain HTTP 127.0.0.1:${PEER_PORT} (default
// 18081); nginx terminates TLS for peer.test:443 in front of it. With an
// argument, it resolves that handle over HTTPS (WebFinger, then the actor
// document) and sends it a Follow, then keeps serving until killed.
//
// It accepts every Follow of `peer` at once (Accept sent back, follower kept in
// memory and listed in ${PEER_ORIGIN}/users/peer/followers), and takes commands
// on stdin, one per line, run one after the other (stdin closed: no commands,
// the peer keeps serving):
//   NOTE <text>           publish a public Note to all followers (Create)
//   LIKE <object url>     Like that object; sent to its author's inbox
//   REPLY <object url> <text>
//                         a public Note with inReplyTo = the object, mentioning
//                         its author; the Create goes to the author and to
//                         all followers
// Every object and activity it sends stays dereferenceable at its id.
//
// Environment: PEER_PORT, PEER_ORIGIN, PEER_PID_FILE (write our pid there),
// FEDIFY_LOG (Fedify's log level, default "info"), NODE_EXTRA_CA_CERTS (the
// test CA, read by Node itself).
//
// Output protocol (stdout, one line each, lines start with the keyword so the
// Rust tests can match prefixes; keep these stable):
//   READY <actor id> on <host:port> pid <pid>
//   LOOKUP OK <handle> <actor type> <actor id> inbox <inbox>
//   LOOKUP FAILED <handle>: <reason>                       (then exit 2)
//   FOLLOW SENT <follow id> to <inbox>
//   FOLLOW FAILED <handle>: <reason>                       (then exit 3)
//   INBOX <Type> from <actor id> object <object Type [id] | object id> <raw JSON>
//   INBOX-UNVERIFIED <Type> from <actor id> reason <reason> <details>
//   LANGUAGES <Type> <object id> content <tags> name <tags> summary <tags>
//                         after the INBOX line of a Create or Update carrying an
//                         Article or Note: the languages Fedify itself read for
//                         its text (the LanguageStrings of `contents`, `names`,
//                         `summaries`), comma-separated, `-` for none
//   INBOX-ERROR <message>
//   ACCEPT SENT <accept id> for <follow id> to <inbox>
//   ACCEPT FAILED <follow id>: <reason>
//   NOTE SENT <note id> in <create id> to <n> followers
//   LIKE SENT <like id> of <object id> to <inbox>
//   REPLY SENT <note id> in <create id> to <inbox> [<inbox>…]
//   COMMAND FAILED <command line>: <reason>
//   HTTP <method> <path> -> <status> [<error body>]
//   FATAL <message>                                        (then exit 1)
// Fedify's own log lines (LogTape) are interleaved and never start with those
// keywords.
import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import {
  createFederation,
  generateCryptoKeyPair,
  MemoryKvStore,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Article,
  Create,
  Delete,
  Endpoints,
  Follow,
  isActor,
  LanguageString,
  Like,
  Mention,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Undo,
  Update,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";

const ORIGIN = (process.env.PEER_ORIGIN ?? "https://peer.test").replace(/\/+$/, "");
const PORT = Number(process.env.PEER_PORT ?? 18081);
const HOST = "127.0.0.1"; // loopback only, always
const IDENTIFIER = "peer";

const out = (line) => process.stdout.write(`${line}\n`);
const fatal = (message, code = 1) => {
  out(`FATAL ${message}`);
  process.exit(code);
};

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { console: getConsoleSink() },
  loggers: [
    {
      category: "fedify",
      lowestLevel: process.env.FEDIFY_LOG ?? "info",
      sinks: ["console"],
    },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
  ],
});

const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: ORIGIN,
  // Every test server resolves to 127.0.0.x; Fedify refuses those otherwise.
  allowPrivateAddress: true,
});

// Fresh keys per run: RSA for draft-cavage signatures, Ed25519 for proofs.
const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify interop peer",
      summary: "Test actor for Broadside's interop tests.",
      manuallyApprovesFollowers: false,
      inbox: ctx.getInboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .mapHandle((_ctx, username) => (username === IDENTIFIER ? IDENTIFIER : null))
  .setKeyPairsDispatcher((_ctx, identifier) =>
    identifier === IDENTIFIER ? keyPairs : []
  );

// What we sent stays dereferenceable, as a real server's would: one map per
// type, keyed by the {id} in its URL.
const sent = {};
for (const [name, type, path] of [
  ["Follow", Follow, "/follows/{id}"],
  ["Accept", Accept, "/accepts/{id}"],
  ["Create", Create, "/creates/{id}"],
  ["Note", Note, "/notes/{id}"],
  ["Like", Like, "/likes/{id}"],
]) {
  const objects = (sent[name] = new Map());
  federation.setObjectDispatcher(type, path, (_ctx, values) => objects.get(values.id) ?? null);
}
const sentFollows = sent.Follow;

// Accepted followers, by actor id; each is an Actor (a Fedify Recipient).
const followers = new Map();
federation.setFollowersDispatcher(
  "/users/{identifier}/followers",
  (_ctx, identifier) => (identifier === IDENTIFIER ? { items: [...followers.values()] } : null),
).setCounter((_ctx, identifier) => (identifier === IDENTIFIER ? followers.size : null));

// --- inbox logging ----------------------------------------------------------

const typeOf = (json) =>
  Array.isArray(json?.type) ? json.type.join(",") : (json?.type ?? "?");

// "Follow https://…" for an embedded object, the bare id for a reference.
const describeObject = (object) => {
  if (object == null) return "-";
  if (typeof object === "string") return object;
  if (Array.isArray(object)) return object.map(describeObject).join(" + ");
  const id = object.id ?? object["@id"];
  return id ? `${typeOf(object)} ${id}` : typeOf(object);
};

const rawJsonOf = (ctx) => {
  try {
    return JSON.parse(ctx.data?.rawBody ?? "null");
  } catch {
    return null;
  }
};

const logInbox = async (ctx, activity) => {
  let json = rawJsonOf(ctx);
  if (json == null) {
    try {
      json = await activity.toJsonLd({ format: "compact" });
    } catch {
      json = {};
    }
  }
  const actor = activity.actorId?.href ??
    (typeof json.actor === "string" ? json.actor : json.actor?.id) ?? "-";
  out(
    `INBOX ${typeOf(json)} from ${actor} object ${describeObject(json.object)} ` +
      JSON.stringify(json),
  );
};

// The languages of a post's text as Fedify reads them: a multilingual post's
// nameMap, summaryMap and contentMap become LanguageStrings, each with its
// locale; a plain `content` is a string without one.
const logLanguages = async (ctx, activity) => {
  let object;
  try {
    object = await activity.getObject(ctx);
  } catch (error) {
    out(`INBOX-ERROR reading the object of ${activity.id?.href}: ${error?.message ?? error}`);
    return;
  }
  if (!(object instanceof Article || object instanceof Note)) return;
  const tags = (values) =>
    values.filter((v) => v instanceof LanguageString).map((v) => v.locale.baseName).join(",") ||
    "-";
  out(
    `LANGUAGES ${typeOf(rawJsonOf(ctx))} ${object.id?.href} content ${tags(object.contents)} ` +
      `name ${tags(object.names)} summary ${tags(object.summaries)}`,
  );
};

const logPost = async (ctx, activity) => {
  await logInbox(ctx, activity);
  await logLanguages(ctx, activity);
};

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, logInbox)
  .on(Reject, logInbox)
  .on(Create, logPost)
  .on(Update, logPost)
  .on(Delete, logInbox)
  .on(Announce, logInbox)
  .on(Undo, async (ctx, undo) => {
    await logInbox(ctx, undo);
    const object = await undo.getObject(ctx);
    if (object instanceof Follow && object.actorId?.href === undo.actorId?.href) {
      followers.delete(undo.actorId.href);
    }
  })
  .on(Follow, async (ctx, follow) => {
    await logInbox(ctx, follow);
    if (follow.objectId?.href !== ctx.getActorUri(IDENTIFIER).href) return;
    try {
      const follower = await follow.getActor(ctx);
      if (follower == null || !isActor(follower) || follower.inboxId == null) {
        throw new Error(`cannot fetch the follower ${follow.actorId?.href}`);
      }
      const id = randomUUID();
      const accept = new Accept({
        id: ctx.getObjectUri(Accept, { id }),
        actor: ctx.getActorUri(IDENTIFIER),
        object: follow,
        to: follower.id,
      });
      sent.Accept.set(id, accept);
      await ctx.sendActivity({ identifier: IDENTIFIER }, follower, accept);
      followers.set(follower.id.href, follower);
      out(`ACCEPT SENT ${accept.id.href} for ${follow.id?.href} to ${follower.inboxId.href}`);
    } catch (error) {
      out(`ACCEPT FAILED ${follow.id?.href}: ${error?.message ?? error}`);
    }
  })
  .on(Activity, logInbox) // anything else (Like, Move, …)
  .onUnverifiedActivity((ctx, activity, reason) => {
    const json = rawJsonOf(ctx) ?? {};
    const details = [
      reason.keyId ? `keyId ${reason.keyId.href}` : "",
      reason.result?.status ? `status ${reason.result.status}` : "",
      reason.result?.error ? `error ${reason.result.error?.message ?? reason.result.error}` : "",
    ].filter(Boolean).join(" ");
    out(
      `INBOX-UNVERIFIED ${typeOf(json)} from ${activity.actorId?.href ?? "-"} ` +
        `reason ${reason.type} ${details}`.trimEnd(),
    );
    // Returning nothing keeps Fedify's 401 answer.
  })
  .onError((_ctx, error) => out(`INBOX-ERROR ${error?.stack ?? error}`));

// --- Node http <-> Fetch API adapter ---------------------------------------

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
      else if (value != null) headers.set(name, value);
    }
    const hasBody = !["GET", "HEAD"].includes(req.method);
    const request = new Request(new URL(req.url, ORIGIN), {
      method: req.method,
      headers,
      body: hasBody ? body : undefined,
    });
    const response = await federation.fetch(request, {
      contextData: { rawBody: hasBody ? body.toString("utf8") : null },
      onNotFound: () => new Response("not found\n", { status: 404 }),
      onNotAcceptable: () => new Response("not acceptable\n", { status: 406 }),
    });
    const payload = Buffer.from(await response.arrayBuffer());
    const note = response.status >= 400
      ? ` ${JSON.stringify(payload.toString("utf8").slice(0, 300))}`
      : "";
    out(`HTTP ${req.method} ${req.url} -> ${response.status}${note}`);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(payload);
  } catch (error) {
    out(`HTTP ${req.method} ${req.url} -> 500 ${JSON.stringify(String(error?.stack ?? error))}`);
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end("internal error\n");
  }
});

await new Promise((resolve) => {
  server.once("error", (error) => fatal(`cannot listen on ${HOST}:${PORT}: ${error.message}`));
  server.listen(PORT, HOST, resolve);
});
if (process.env.PEER_PID_FILE) writeFileSync(process.env.PEER_PID_FILE, `${process.pid}\n`);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
out(`READY ${ORIGIN}/users/${IDENTIFIER} on ${HOST}:${PORT} pid ${process.pid}`);

// --- look the target up and follow it ---------------------------------------

const target = process.argv[2];
if (target) {
  const ctx = federation.createContext(new URL(ORIGIN), { rawBody: null });
  const lookupFailed = (reason) => {
    out(`LOOKUP FAILED ${target}: ${reason}`);
    process.exit(2);
  };

  // Fedify only says "null" when a lookup fails; fetch the URL once more by
  // hand so the log says why (DNS, TLS, status code, body).
  const diagnose = async (url, accept) => {
    try {
      const response = await fetch(url, { headers: { accept }, redirect: "manual" });
      const body = (await response.text()).slice(0, 300);
      return `GET ${url} -> ${response.status} ${JSON.stringify(body)}`;
    } catch (error) {
      const cause = error?.cause;
      return `GET ${url} -> ${error?.message ?? error}` +
        (cause ? ` (${cause.code ?? ""} ${cause.message ?? cause})` : "");
    }
  };

  let actor;
  let actorUrl = /^https?:\/\//.test(target) ? target : null;
  try {
    if (actorUrl == null) {
      const account = target.replace(/^@/, "");
      const resource = `acct:${account}`;
      const jrd = await ctx.lookupWebFinger(resource);
      if (jrd == null) {
        const host = account.slice(account.lastIndexOf("@") + 1);
        const url = `https://${host}/.well-known/webfinger?resource=${encodeURIComponent(resource)}`;
        lookupFailed(`WebFinger ${resource} failed: ${await diagnose(url, "application/jrd+json")}`);
      }
      const self = jrd.links?.find((l) =>
        l.rel === "self" && /activity\+json|ld\+json/.test(l.type ?? "")
      );
      if (self?.href == null) {
        lookupFailed(`WebFinger ${resource} has no rel=self ActivityPub link: ${JSON.stringify(jrd)}`);
      }
      actorUrl = self.href;
    }
    actor = await ctx.lookupObject(target);
  } catch (error) {
    lookupFailed(`${error?.name ?? "Error"}: ${error?.message ?? error}`);
  }
  if (actor == null) {
    lookupFailed(
      `the actor document could not be fetched or parsed: ` +
        await diagnose(actorUrl, "application/activity+json"),
    );
  }
  if (!isActor(actor)) lookupFailed(`not an actor but ${actor.constructor.name} ${actor.id?.href}`);
  if (actor.inboxId == null) lookupFailed(`actor ${actor.id?.href} has no inbox`);
  out(`LOOKUP OK ${target} ${actor.constructor.name} ${actor.id?.href} inbox ${actor.inboxId.href}`);

  const id = randomUUID();
  const follow = new Follow({
    id: ctx.getObjectUri(Follow, { id }),
    actor: ctx.getActorUri(IDENTIFIER),
    object: actor.id,
  });
  sentFollows.set(id, follow);
  try {
    await ctx.sendActivity({ identifier: IDENTIFIER }, actor, follow);
  } catch (error) {
    out(`FOLLOW FAILED ${target}: ${error?.message ?? error}`);
    process.exit(3);
  }
  out(`FOLLOW SENT ${follow.id.href} to ${actor.inboxId.href}`);
}

// --- commands on stdin ------------------------------------------------------

const escapeHtml = (text) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const commandContext = () => federation.createContext(new URL(ORIGIN), { rawBody: null });

// The object at `url` and its author, fetched with signed GETs (as servers that
// require authorized fetch expect).
const objectAndAuthor = async (ctx, url) => {
  const documentLoader = await ctx.getDocumentLoader({ identifier: IDENTIFIER });
  const object = await ctx.lookupObject(url, { documentLoader });
  if (object == null) throw new Error(`cannot fetch ${url}`);
  const author = await object.getAttribution({ documentLoader });
  if (author == null || !isActor(author) || author.inboxId == null) {
    throw new Error(`${url} has no author with an inbox`);
  }
  return { object, author };
};

// A public Note by us: to the public, cc our followers; `extra` adds or
// overrides properties.
const newNote = (ctx, text, extra = {}) => {
  const id = randomUUID();
  const note = new Note({
    id: ctx.getObjectUri(Note, { id }),
    attribution: ctx.getActorUri(IDENTIFIER),
    to: PUBLIC_COLLECTION,
    ccs: [ctx.getFollowersUri(IDENTIFIER)],
    content: `<p>${escapeHtml(text)}</p>`,
    mediaType: "text/html",
    published: Temporal.Now.instant(),
    ...extra,
  });
  sent.Note.set(id, note);
  return note;
};

const createOf = (ctx, note) => {
  const id = randomUUID();
  const create = new Create({
    id: ctx.getObjectUri(Create, { id }),
    actor: ctx.getActorUri(IDENTIFIER),
    object: note,
    to: PUBLIC_COLLECTION,
    ccs: note.ccIds,
    published: note.published,
  });
  sent.Create.set(id, create);
  return create;
};

const commands = {
  async NOTE(text) {
    if (!text) throw new Error("usage: NOTE <text>");
    const ctx = commandContext();
    const note = newNote(ctx, text);
    const create = createOf(ctx, note);
    await ctx.sendActivity({ identifier: IDENTIFIER }, "followers", create, { preferSharedInbox: true });
    out(`NOTE SENT ${note.id.href} in ${create.id.href} to ${followers.size} followers`);
  },

  async LIKE(rest) {
    const target = rest.trim();
    if (!target) throw new Error("usage: LIKE <object url>");
    const ctx = commandContext();
    const { object, author } = await objectAndAuthor(ctx, target);
    const id = randomUUID();
    const like = new Like({
      id: ctx.getObjectUri(Like, { id }),
      actor: ctx.getActorUri(IDENTIFIER),
      object: object.id,
      to: author.id,
    });
    sent.Like.set(id, like);
    await ctx.sendActivity({ identifier: IDENTIFIER }, author, like);
    out(`LIKE SENT ${like.id.href} of ${object.id.href} to ${author.inboxId.href}`);
  },

  async REPLY(rest) {
    const [target, ...words] = rest.trim().split(/\s+/);
    const text = words.join(" ");
    if (!target || !text) throw new Error("usage: REPLY <object url> <text>");
    const ctx = commandContext();
    const { object, author } = await objectAndAuthor(ctx, target);
    const note = newNote(ctx, text, {
      replyTarget: object.id,
      ccs: [ctx.getFollowersUri(IDENTIFIER), author.id],
      tags: [
        new Mention({
          href: author.id,
          name: `@${author.preferredUsername}@${author.id.host}`,
        }),
      ],
    });
    const create = createOf(ctx, note);
    // One send, so an author who also follows us gets it once.
    const recipients = new Map([[author.id.href, author], ...followers]);
    await ctx.sendActivity({ identifier: IDENTIFIER }, [...recipients.values()], create, {
      preferSharedInbox: true,
    });
    const inboxes = [...recipients.values()].map((r) => (r.endpoints?.sharedInbox ?? r.inboxId).href);
    out(`REPLY SENT ${note.id.href} in ${create.id.href} to ${[...new Set(inboxes)].join(" ")}`);
  },
};

// One command at a time, in the order they arrive.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  const trimmed = line.trim();
  if (!trimmed) return;
  const space = trimmed.indexOf(" ");
  const name = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? "" : trimmed.slice(space + 1);
  queue = queue.then(async () => {
    try {
      const command = commands[name];
      if (command == null) throw new Error(`unknown command (known: ${Object.keys(commands).join(", ")})`);
      await command(rest);
    } catch (error) {
      out(`COMMAND FAILED ${trimmed}: ${error?.message ?? error}`);
    }
  });
});
