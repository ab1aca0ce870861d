// SPDX-License-Identifier: LGPL-2.1-or-later
// check.js - second opinion on consul-emu: drive it with the npm "consul" client (written by
// others against real Consul) and compare every answer with what Consul documents
// (shared/spec/kv-stores.md part A).
//
//   node check.js HOST:PORT [TOKEN]        (or CONSUL_HTTP_ADDR / CONSUL_HTTP_TOKEN)
//
// Exits 0 only if every check passes.  Lines starting "NOTE" report where the client's own
// policy differs from the spec; they are informational and do not fail the run.
"use strict";

const Consul = require("consul");
const { EventEmitter } = require("events");

const addr = (process.argv[2] || process.env.CONSUL_HTTP_ADDR || "127.0.0.1:8500")
  .replace(/^https?:\/\//, "");
const token = process.argv[3] || process.env.CONSUL_HTTP_TOKEN || "";
const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), addr.slice(addr.lastIndexOf(":") + 1)];
const base = { host, port: Number(port) };
const consul = new Consul(token ? { ...base, defaults: { token } } : base);

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log("ok   " + name);
  } else {
    failed++;
    console.log("FAIL " + name + (detail === undefined ? "" : ": " + JSON.stringify(detail)));
  }
}
function note(text) {
  console.log("NOTE " + text);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64 = (s) => Buffer.from(s).toString("base64");

async function expectError(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  return null;
}

// The client's plain calls resolve a JSON `false` body to undefined (papi's pipeline drops a
// falsy result), so answers that may be `false` are read with includeResponse, which hands
// back [response, body] unchanged.
async function withRes(fn, opts) {
  const ctx = new EventEmitter();
  ctx.includeResponse = true;
  const [res, body] = await fn({ ...opts, ctx });
  return { status: res.statusCode, body };
}
const setRes = (opts) => withRes((o) => consul.kv.set(o), opts);
const delRes = (opts) => withRes((o) => consul.kv.del(o), opts);
async function isFalse(name, opts, del) {
  const r = await (del ? delRes(opts) : setRes(opts));
  check(name, r.status === 200 && r.body === false, r);
}

async function hook(method, path) {
  // The emulator's test hooks (not Consul); used only for the informational notes.
  const res = await fetch(`http://${addr}${path}`, { method });
  return res.ok;
}

async function kv() {
  const p = "npmcheck/";
  await consul.kv.del({ key: p, recurse: true });

  check("A.6 kv.set answers true", (await consul.kv.set(p + "a", "hello")) === true);
  const e = await consul.kv.get(p + "a");
  check("A.4 kv.get value round-trips", e && e.Value === "hello", e);
  check("A.4 Flags/indexes are numbers, Session omitted",
    e && e.Flags === 0 && typeof e.ModifyIndex === "number" &&
    typeof e.CreateIndex === "number" && e.LockIndex === 0 && !("Session" in e), e);

  await consul.kv.set({ key: p + "f", value: "x", flags: 42 });
  check("A.6 ?flags stored", (await consul.kv.get(p + "f")).Flags === 42);
  await consul.kv.set(p + "f", "x");
  check("A.6/D.5 a PUT without ?flags resets Flags to 0",
    (await consul.kv.get(p + "f")).Flags === 0);

  await consul.kv.set(p + "empty", "");
  const em = await consul.kv.get(p + "empty");
  check("A.4/D.18 empty value is null, not \"\"", em && em.Value === null, em);

  await consul.kv.set(p + "d/x", "1");
  await consul.kv.set(p + "d/y/z", "1");
  const keys = await consul.kv.keys(p);
  check("A.5 kv.keys lists the prefix sorted",
    JSON.stringify(keys) === JSON.stringify([p + "a", p + "d/x", p + "d/y/z", p + "empty", p + "f"]),
    keys);
  const sep = await consul.kv.keys({ key: p + "d/", separator: "/" });
  check("A.5 keys+separator cuts and de-duplicates",
    JSON.stringify(sep) === JSON.stringify([p + "d/x", p + "d/y/"]), sep);
  const all = await consul.kv.get({ key: p, recurse: true });
  check("A.5 recurse returns every entry", Array.isArray(all) && all.length === 5, all);

  // cas
  const plain = await consul.kv.set({ key: p + "a", value: "other", cas: 0 });
  if (plain === undefined) {
    note("kv.set() resolves a failed cas (HTTP 200, body false) to undefined, not false: " +
      "papi's pipeline drops falsy results; the wire answer is false as Consul documents " +
      "(A.6, D.3); checked below with includeResponse");
  }
  await isFalse("A.6 cas=0 on an existing key returns false",
    { key: p + "a", value: "other", cas: 0 });
  check("A.6 cas=0 creates an absent key",
    (await consul.kv.set({ key: p + "new", value: "1", cas: 0 })) === true);
  const cur = await consul.kv.get(p + "a");
  await isFalse("A.6 cas with the wrong ModifyIndex returns false",
    { key: p + "a", value: "x", cas: cur.ModifyIndex + 1000 });
  check("A.6 cas with the current ModifyIndex returns true",
    (await consul.kv.set({ key: p + "a", value: "x", cas: cur.ModifyIndex })) === true);
  const same = await consul.kv.get(p + "a");
  await consul.kv.set(p + "a", "x");
  check("A.6/D.4 an unchanged write keeps ModifyIndex",
    (await consul.kv.get(p + "a")).ModifyIndex === same.ModifyIndex);

  // delete
  check("A.7 kv.del answers true", (await consul.kv.del(p + "a")) === true);
  check("A.5 a deleted key reads as absent", (await consul.kv.get(p + "a")) === undefined);
  check("A.7/D.3 delete?cas on a missing key is true",
    (await consul.kv.del({ key: p + "a", cas: 5 })) === true);
  const n = await consul.kv.get(p + "new");
  await isFalse("A.7 delete?cas=0 on an existing key is false", { key: p + "new", cas: 0 },
    true);
  check("A.7 delete?cas=ModifyIndex deletes",
    (await consul.kv.del({ key: p + "new", cas: n.ModifyIndex })) === true);

  const missing = await expectError(() => consul.kv.keys("npmcheck-nothing/"));
  if (missing && missing.response && missing.response.statusCode === 404) {
    note("kv.keys() of an empty prefix throws on Consul's documented 404 (A.5: 404 = no keys); " +
      "the client treats it as an error, the emulator answers as Consul does");
  } else {
    check("A.5 keys of an empty prefix is 404", false, missing && missing.message);
  }

  // blocking get with explicit index/wait
  const meta = await rawGet(`/v1/kv/${p}f`);
  const idx = Number(meta.headers.get("x-consul-index"));
  setTimeout(() => consul.kv.set(p + "f", "changed"), 300);
  const t0 = Date.now();
  const blocked = await consul.kv.get({ key: p + "f", index: idx, wait: "5s" });
  const dt = Date.now() - t0;
  check("A.10 blocking get returns on change with the new value",
    blocked && blocked.Value === "changed" && dt >= 250 && dt < 3000, { dt, blocked });
}

async function rawGet(path) {
  const headers = token ? { "X-Consul-Token": token } : {};
  return fetch(`http://${addr}${path}`, { headers });
}

async function watch() {
  const key = "npmcheck/watched";
  await consul.kv.set(key, "v0");
  const seen = [];
  const w = consul.watch({ method: consul.kv.get, options: { key, wait: "2s" } });
  const done = new Promise((resolve) => {
    w.on("change", (data) => {
      seen.push(data && data.Value);
      if (seen.length === 1) setTimeout(() => consul.kv.set(key, "v1"), 200);
      if (seen.length === 2) resolve();
    });
    w.on("error", (err) => {
      seen.push("error: " + err.message);
      resolve();
    });
  });
  await Promise.race([done, sleep(8000)]);
  w.end();
  check("A.10 watch sees the initial value then the change", JSON.stringify(seen) ===
    JSON.stringify(["v0", "v1"]), seen);

  // Informational: how does the client treat X-Consul-Index: 0 (spec A.10.6: clamp to 1)?
  if (await hook("PUT", "/_emu/index/zero?count=1")) {
    const errs = [];
    const w2 = consul.watch({ method: consul.kv.get, options: { key, wait: "1s" }, maxAttempts: 1 });
    await new Promise((resolve) => {
      w2.on("change", () => resolve());
      w2.on("error", (err) => { errs.push(err.message); resolve(); });
      setTimeout(resolve, 4000);
    });
    w2.end();
    if (errs.length) {
      note("the client's watch treats X-Consul-Index: 0 as an error (\"" + errs[0] + "\") and " +
        "backs off; spec A.10 item 6 says to use 1 and carry on");
    }
  }
}

async function sessions() {
  const created = await consul.session.create({ name: "npmcheck", ttl: "10s",
    behavior: "delete", lockdelay: "1ms" });
  const sid = created && created.ID;
  check("A.12 session.create returns {ID: uuid}",
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(sid || ""), created);
  const info = await consul.session.info(sid);
  check("A.12 session.info fields", info && info.ID === sid && info.TTL === "10s" &&
    info.Behavior === "delete" && info.LockDelay === 1000000 && info.Name === "npmcheck", info);
  const renewed = await consul.session.renew(sid);
  check("A.12 renew answers an array holding the session",
    Array.isArray(renewed) && renewed[0].ID === sid, renewed);
  const list = await consul.session.list();
  check("A.12 session.list includes it", Array.isArray(list) && list.some((s) => s.ID === sid));

  const other = (await consul.session.create({ lockdelay: "1ms" })).ID;
  const key = "npmcheck/lock";
  check("A.12 acquire of a free key is true",
    (await consul.kv.set({ key, value: "me", acquire: sid })) === true);
  const held = await consul.kv.get(key);
  check("A.12 the holder shows in Session with LockIndex 1",
    held.Session === sid && held.LockIndex === 1, held);
  await isFalse("A.12 acquire by another session is false",
    { key, value: "them", acquire: other });
  await isFalse("A.12 release by a non-holder is false", { key, value: "x", release: other });
  check("A.12 release by the holder is true",
    (await consul.kv.set({ key, value: "released", release: sid })) === true);
  const rel = await consul.kv.get(key);
  check("A.12 release clears Session, keeps LockIndex",
    !("Session" in rel) && rel.LockIndex === 1 && rel.Value === "released", rel);

  await consul.kv.set({ key: "npmcheck/eph", value: "1", acquire: sid });
  await consul.session.destroy(sid);
  check("A.12 destroy with Behavior=delete removes held keys",
    (await consul.kv.get("npmcheck/eph")) === undefined);
  check("A.12 info of a destroyed session is empty",
    (await consul.session.info(sid)) === undefined);
  const gone = await expectError(() => consul.session.renew(sid));
  check("A.12 renew of a destroyed session is 404 \"Session id '…' not found\"",
    gone && gone.response && gone.response.statusCode === 404 &&
    String(gone.message).includes(`Session id '${sid}' not found`), gone && gone.message);
  await consul.session.destroy(sid);
  check("A.12 destroy is idempotent", true);
  await consul.session.destroy(other);

  const bad = await expectError(() => consul.kv.set({ key, value: "x",
    acquire: "00000000-0000-0000-0000-000000000000" }));
  check("A.12 acquire with an unknown session is 500 invalid session",
    bad && bad.response && bad.response.statusCode === 500 &&
    String(bad.message).includes("invalid session"), bad && bad.message);
}

async function txn() {
  const p = "npmcheck/txn/";
  const ok = await consul.transaction.create([
    { KV: { Verb: "set", Key: p + "a", Value: b64("1") } },
    { KV: { Verb: "cas", Key: p + "b", Value: b64("2"), Index: 0 } },
    { KV: { Verb: "get", Key: p + "a" } },
    { KV: { Verb: "delete", Key: p + "none" } },
  ]);
  check("A.13 txn 200: Results skip deletes, Errors null, one shared index",
    ok && ok.Errors === null && ok.Results.length === 3 &&
    ok.Results[0].KV.ModifyIndex === ok.Results[1].KV.ModifyIndex &&
    ok.Results[0].KV.Value === null && ok.Results[2].KV.Value === b64("1"), ok);

  const err = await expectError(() => consul.transaction.create([
    { KV: { Verb: "set", Key: p + "c", Value: b64("3") } },
    { KV: { Verb: "check-not-exists", Key: p + "a" } },
  ]));
  const body = err && err.response && err.response.body;
  check("A.13 txn 409 rolls back with Errors[{OpIndex, What}]",
    err && err.response.statusCode === 409 && body && body.Results === null &&
    body.Errors.length === 1 && body.Errors[0].OpIndex === 1 &&
    body.Errors[0].What === `key "${p}a" exists`, body);
  check("A.13 nothing of a rolled-back txn was applied",
    (await consul.kv.get(p + "c")) === undefined);
}

async function misc() {
  const leader = await consul.status.leader();
  check("A.1 status.leader is a quoted host:port string", /^[^:]+:\d+$/.test(leader), leader);
  if (token) {
    const wrong = new Consul({ ...base, defaults: { token: "definitely-wrong" } });
    const e = await expectError(() => wrong.kv.get("npmcheck/x"));
    check("A.2 a wrong token is 403 ACL not found",
      e && e.response && e.response.statusCode === 403 && String(e.message).includes("ACL not found"),
      e && e.message);
    const anon = new Consul(base);
    const e2 = await expectError(() => anon.kv.set("npmcheck/x", "v"));
    check("A.2 no token is 403 Permission denied",
      e2 && e2.response && e2.response.statusCode === 403 &&
      String(e2.response.body).startsWith("Permission denied"), e2 && e2.response.body);
  }
}

(async () => {
  try {
    await kv();
    await watch();
    await sessions();
    await txn();
    await misc();
    await consul.kv.del({ key: "npmcheck/", recurse: true });
  } catch (err) {
    failed++;
    console.log("FAIL unexpected error: " + (err && err.stack ? err.stack : err));
  }
  consul.destroy();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
