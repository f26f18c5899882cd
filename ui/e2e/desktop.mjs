// End-to-end tests of the desktop app in its real webview (WebKitGTK through tauri-driver and
// WebKitWebDriver) against the real relay and the real Cloud API simulator, all on loopback
// ports chosen at run time. Run through ui/e2e/run.sh, which provides Xvfb, a D-Bus session,
// an unlocked gnome-keyring and a notification watcher. Prints "N passed, N failed" last.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Session, sleep } from "./wd.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const bin = process.env.SWITCHBOARD_BIN_DIR ?? path.join(root, "target/debug");
const app = process.env.SWITCHBOARD_DESKTOP_BIN ?? path.join(bin, "switchboard-desktop");
const art = path.join(root, "artifacts/desktop");
const notifyLog = process.env.E2E_NOTIFY_LOG;
fs.mkdirSync(path.join(art, "logs"), { recursive: true });

const SECRET = "e2e-app-secret";
const TOKEN = "e2e-access-token";
const PNID = "200000000000002";
const WABA = "100000000000001";
const DISPLAY_NUMBER = "15550001111";
const EMAIL = "erin@e2e.switchboard";
const PASSWORD = "e2e-agent-password";
const SUP_EMAIL = "sam@e2e.switchboard";
const SUP_PASSWORD = "e2e-supervisor-password";
const ADMIN_EMAIL = "ada@e2e.switchboard";
const ADMIN_PASSWORD = "e2e-admin-password";

const results = [];
const children = [];

/** `n` distinct free loopback ports: all listeners are held open until every port is known
 * (one at a time, the kernel may hand the same port out twice). */
async function freePorts(n) {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise((res, rej) => {
      const s = net.createServer();
      s.on("error", rej);
      s.listen(0, "127.0.0.1", () => res(s));
    })),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  return ports;
}

function start(name, cmd, args, env) {
  const log = fs.openSync(path.join(art, "logs", `${name}.log`), "a");
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", log, log] });
  children.push(p);
  return p;
}

function stop(p) {
  return new Promise((res) => {
    if (p.exitCode !== null || p.signalCode !== null) return res();
    p.once("exit", () => res());
    p.kill("SIGTERM");
  });
}

async function waitHttp(url, timeout = 15000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {}
    await sleep(50);
  }
  throw new Error(`${url} did not answer within ${timeout} ms`);
}

async function json(method, url, body) {
  const r = await fetch(url, { method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${url}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

async function test(name, f) {
  const t0 = Date.now();
  try {
    await f();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function shot(s, name) {
  const png = await s.screenshot();
  fs.writeFileSync(path.join(art, `${name}.png`), Buffer.from(png, "base64"));
}

function xdotool(...args) {
  const r = spawnSync("xdotool", args, { encoding: "utf8" });
  assert(r.status === 0, `xdotool ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

async function xWindow(name) {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const r = spawnSync("xdotool", ["search", "--onlyvisible", "--name", name], { encoding: "utf8" });
    const id = r.stdout.trim().split("\n").filter(Boolean).pop();
    if (id) return id;
    await sleep(50);
  }
  throw new Error(`no X window named ${name}`);
}

const notifications = () => (notifyLog && fs.existsSync(notifyLog) ? fs.readFileSync(notifyLog, "utf8") : "");
const notifyReturns = () => (notifyLog && fs.existsSync(`${notifyLog}.returns`) ? fs.readFileSync(`${notifyLog}.returns`, "utf8") : "");

/** The notification server's id for the notification whose Notify call carried `text`. */
function notificationId(text) {
  const call = notifications().split(/\n(?=method call)/).find((b) => b.includes(text));
  const m = call && /sender=(\S+) -> destination=\S+ serial=(\d+)/.exec(call);
  if (!m) return null;
  const ret = notifyReturns().split(/\n(?=method return)/).find((b) => b.includes(`destination=${m[1]} `) && b.includes(`reply_serial=${m[2]}\n`));
  const id = ret && /uint32 (\d+)/.exec(ret);
  return id ? Number(id[1]) : null;
}

/** Chooses an option of a React-controlled <select>. */
const choose = (s, css, value) =>
  s.exec(`const el = document.querySelector(arguments[0]);
    Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(el, arguments[1]);
    el.dispatchEvent(new Event('change', { bubbles: true }));`, css, value);

async function main() {
  for (const f of [app, path.join(bin, "switchboard-relay"), path.join(bin, "switchboard-sim")]) {
    assert(fs.existsSync(f), `${f} is missing: build it first (ui/e2e/run.sh does)`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sb-e2e-"));
  const [relayPort, simPort, driverPort, nativePort] = await freePorts(4);
  const relayUrl = `http://127.0.0.1:${relayPort}`;
  const simUrl = `http://127.0.0.1:${simPort}`;
  const relayEnv = {
    SWITCHBOARD_LISTEN: `127.0.0.1:${relayPort}`,
    SWITCHBOARD_DATA_DIR: path.join(tmp, "relay"),
    WA_APP_SECRET: SECRET,
    WA_VERIFY_TOKEN: "e2e-verify",
    WA_ACCESS_TOKEN: TOKEN,
    WA_GRAPH_URL: simUrl,
    // Seals business accounts' tokens and apps' secrets at rest (a key for this test only).
    SWITCHBOARD_SECRET_KEY: "5f0c3a9e1b7d2c4e6a8f0b1d3c5e7a9f2b4d6e8a0c1e3f5a7b9d1f3e5a7c9e1b",
  };
  const relayBin = path.join(bin, "switchboard-relay");
  const admin = (args, input) => {
    const r = spawnSync(relayBin, ["admin", ...args], { env: { ...process.env, ...relayEnv }, input, encoding: "utf8" });
    assert(r.status === 0, `relay admin ${args[0]} failed: ${r.stderr}`);
  };
  admin(["add-number", "--phone-number-id", PNID, "--display-phone-number", DISPLAY_NUMBER, "--name", "E2E Support", "--waba-id", WABA]);
  admin(["create-user", "--email", EMAIL, "--name", "Erin Agent", "--role", "agent", "--password-stdin"], PASSWORD);
  admin(["create-user", "--email", SUP_EMAIL, "--name", "Sam Supervisor", "--role", "supervisor", "--password-stdin"], SUP_PASSWORD);
  admin(["create-user", "--email", ADMIN_EMAIL, "--name", "Ada Admin", "--role", "admin", "--password-stdin"], ADMIN_PASSWORD);

  start("sim", path.join(bin, "switchboard-sim"), [
    "serve", "--listen", `127.0.0.1:${simPort}`, "--webhook-url", `${relayUrl}/webhooks/whatsapp`,
    "--app-secret", SECRET, "--access-token", TOKEN, "--phone-number-id", PNID, "--display-phone-number", DISPLAY_NUMBER,
    // Each delivery state stays for about half a second, as a person would see it.
    "--sent-delay-ms", "300", "--delivered-delay-ms", "900", "--read-delay-ms", "1500",
  ]);
  let relay = start("relay", relayBin, ["serve"], relayEnv);
  await waitHttp(`${relayUrl}/healthz`);
  await waitHttp(`${simUrl}/control/stats`);
  // A team with the agent in it, to transfer to.
  {
    const login = (email, password) => json("POST", `${relayUrl}/api/v1/auth/login`, { email, password });
    const ada = await login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const erin = await login(EMAIL, PASSWORD);
    const r = await fetch(`${relayUrl}/api/v1/admin/teams`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ada.token}` },
      body: JSON.stringify({ name: "Versand", members: [erin.user.id] }),
    });
    assert(r.status === 201, `creating the team: HTTP ${r.status} ${await r.text()}`);
  }

  const idleFile = path.join(tmp, "idle");
  fs.writeFileSync(idleFile, "0");
  start("tauri-driver", process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", String(driverPort), "--native-port", String(nativePort)], {
    SWITCHBOARD_HOME: path.join(tmp, "app"),
    // The session's idle time and lock state, as the tests set them (instead of D-Bus).
    SWITCHBOARD_IDLE_FILE: idleFile,
    SWITCHBOARD_LOG: "info,switchboard_desktop=debug",
    SWITCHBOARD_LOG_FILE: path.join(art, "logs", "app.log"),
  });
  await waitHttp(`http://127.0.0.1:${driverPort}/status`);
  const s = await Session.start(`http://127.0.0.1:${driverPort}`, app);

  try {
    /** Signs in from the sign-in form (typing the relay URL first where it asks for one). */
    const signIn = async (email, password) => {
      if (await s.exec(`return !!document.querySelector('[data-testid=relay-url]')`)) {
        await s.exec(`const el = document.querySelector('[data-testid=relay-url]');
          Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, '');
          el.dispatchEvent(new Event('input', { bubbles: true }));`);
        await s.type("[data-testid=relay-url]", relayUrl);
        await s.click("[data-testid=next]");
      }
      await s.waitFor("the email field", `return !!document.querySelector('[data-testid=email]')`);
      await s.type("[data-testid=email]", email);
      await s.type("[data-testid=password]", password);
      await s.click("[data-testid=sign-in]");
      await s.waitFor("connection state online", `const e = document.querySelector('[data-testid=connection-state]'); return e && e.dataset.state === 'online'`, { timeout: 15000 }).catch(async (e) => {
        // Say what the screen showed instead: a refusal on the form, or a state that never came.
        const seen = await s.exec(`return JSON.stringify({ email: document.querySelector('[data-testid=email]')?.value ?? null, error: document.querySelector('[role=alert]')?.textContent ?? null, state: document.querySelector('[data-testid=connection-state]')?.dataset.state ?? null, busy: document.querySelector('[data-testid=sign-in]')?.disabled ?? null })`);
        throw new Error(`${e.message}; signing in as ${email}, the screen: ${seen}`);
      });
    };
    /** Signs out and in again as someone else. */
    const signInAs = async (email, password) => {
      await s.click("[data-testid=settings]");
      await s.click("[data-testid=sign-out]");
      await s.waitFor("the sign-in form", `return !!document.querySelector('[data-testid=relay-url], [data-testid=email]')`);
      await signIn(email, password);
    };
    /** Sets a React-controlled input's value as typing would. */
    const fill = (css, value) =>
      s.exec(`const el = document.querySelector(arguments[0]);
        Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, arguments[1]);
        el.dispatchEvent(new Event('input', { bubbles: true }));`, css, value);

    await test("window title contains Switchboard", async () => {
      const title = await s.title();
      assert(/Switchboard/.test(title), `title is ${JSON.stringify(title)}`);
    });

    await test("first run: relay URL, then email and password; the token goes to the keychain", async () => {
      await s.waitFor("the relay URL field", `return !!document.querySelector('[data-testid=relay-url]')`);
      await signIn(EMAIL, PASSWORD);
      const lookup = spawnSync("secret-tool", ["lookup", "service", "switchboard", "username", `${relayUrl}|${EMAIL}`], { encoding: "utf8" });
      assert(lookup.status === 0 && lookup.stdout.length > 10, `the token is not in the keychain (secret-tool: ${lookup.status} ${lookup.stderr})`);
      const files = spawnSync("grep", ["-rl", lookup.stdout.trim(), path.join(tmp, "app")], { encoding: "utf8" });
      assert(files.stdout.trim() === "", `the token was found in a plain file: ${files.stdout}`);
    });

    const firstText = "Hallo, wo ist meine Bestellung 4711?";
    await test("a customer writes: the conversation appears within 1 s and a notification is raised", async () => {
      // Another window takes the focus (Xvfb has no window manager: xdotool moves it).
      const other = start("xmessage", "xmessage", ["-geometry", "300x60+900+700", "another application"], {});
      const otherId = await xWindow("xmessage");
      xdotool("windowfocus", "--sync", otherId);
      await s.waitFor("the app to lose the focus", `return !document.hasFocus()`, { timeout: 3000 });
      const t0 = Date.now();
      await json("POST", `${simUrl}/control/customers/4915112345678/messages`, { text: firstText, name: "Erika Muster" });
      await s.waitFor("the new conversation", `return [...document.querySelectorAll('[data-testid=conversation]')].some(r => r.textContent.includes(arguments[0]))`, { args: [firstText], timeout: 5000, interval: 10 });
      const took = Date.now() - t0;
      console.log(`     message visible after ${took} ms`);
      assert(took <= 1000, `the message took ${took} ms to appear (limit 1000 ms)`);
      assert(notifyLog, "E2E_NOTIFY_LOG is not set: nothing watches notifications");
      const end = Date.now() + 5000;
      while (!notifications().includes("4711") && Date.now() < end) await sleep(50);
      assert(notifications().includes("4711"), `no desktop notification with the message was seen on D-Bus (log: ${notifyLog}, ${notifications().length} bytes at ${Date.now() / 1000})`);
      // Back to the app (what clicking the notification does): it opens that conversation.
      await stop(other);
      xdotool("windowfocus", "--sync", await xWindow("Switchboard"));
      await s.waitFor("the notified conversation to open", `const v = document.querySelector('[data-testid=conversation-view]'); return v && v.textContent.includes(arguments[0])`, { args: [firstText], timeout: 3000 });
      await shot(s, "inbox");
    });

    await test("the business number is named by its name, never by Meta's id", async () => {
      const header = await s.waitFor("the number in the header", `return document.querySelector('[data-testid=conv-number]')?.textContent`);
      assert(header === "E2E Support", `header names ${JSON.stringify(header)}`);
      const options = await s.exec(`return [...document.querySelectorAll('[data-testid=filter-number] option')].map(o => o.textContent)`);
      assert(options.includes("E2E Support") && !options.some((o) => o.includes(PNID)), `filter offers ${JSON.stringify(options)}`);
    });

    const reply = "Ihre Bestellung ist unterwegs.";
    await test("the agent replies and sees sent -> delivered -> read", async () => {
      await s.exec(`[...document.querySelectorAll('[data-testid=conversation]')].find(r => r.textContent.includes(arguments[0]) || r.getAttribute('aria-selected') === 'true').click()`, firstText);
      await s.waitFor("the composer", `return !!document.querySelector('[data-testid=composer]')`);
      await s.exec(`
        window.__statusLog = [];
        const record = () => {
          for (const b of document.querySelectorAll('[data-testid=message]')) {
            if (!b.textContent.includes(arguments[0])) continue;
            const l = window.__statusLog, st = b.dataset.status;
            if (l[l.length - 1] !== st) l.push(st);
          }
        };
        new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
      `, reply);
      await s.type("[data-testid=composer]", reply);
      await s.click("[data-testid=send]");
      const log = await s.waitFor("the read tick", `const l = window.__statusLog; return l[l.length - 1] === 'read' && l`, { timeout: 10000 });
      console.log(`     statuses seen: ${log.join(" -> ")}`);
      const at = (x) => log.indexOf(x);
      assert(at("sent") >= 0 && at("delivered") > at("sent") && at("read") > at("delivered"), `expected sent -> delivered -> read, saw ${log.join(" -> ")}`);
      await shot(s, "conversation");
    });

    await test("an attached image is uploaded, sent by its media id and shown in the agent's bubble", async () => {
      const caption = "Ihr Beleg anbei";
      await s.type("[data-testid=composer]", caption);
      // The OS file dialog is outside the page; hand the file input a file as the dialog would.
      await s.exec(`
        const png = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([png], 'beleg.png', { type: 'image/png' }));
        const input = document.querySelector('[data-testid=attach-input]');
        input.files = dt.files;
        input.dispatchEvent(new Event('change', { bubbles: true }));`);
      const end = Date.now() + 15000;
      let out;
      while (Date.now() < end) {
        const sent = await json("GET", `${simUrl}/control/sent`);
        out = sent.find((m) => m.payload.type === "image" && m.payload.image && m.payload.image.caption === caption);
        if (out) break;
        await sleep(200);
      }
      assert(out, "the simulator never received the image");
      assert(typeof out.payload.image.id === "string" && !out.payload.image.link, `sent as ${JSON.stringify(out.payload.image)}`);
      await s.waitFor("the image bubble with its picture", `
        const b = [...document.querySelectorAll('[data-testid=message]')].find(x => x.textContent.includes(arguments[0]));
        return b && b.dataset.status !== 'queued' && !!b.querySelector('[data-testid=media-image]')`, { args: [caption], timeout: 15000 });
      const composer = await s.exec(`return document.querySelector('[data-testid=composer]').value`);
      assert(composer === "", `the caption should leave the composer, it holds ${JSON.stringify(composer)}`);
    });

    await test("a document is saved into Downloads, never opened in the app (English and German)", async () => {
      const pdf = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
      await s.exec(`
        const dt = new DataTransfer();
        dt.items.add(new File([arguments[0]], 'rechnung.pdf', { type: 'application/pdf' }));
        const input = document.querySelector('[data-testid=attach-input]');
        input.files = dt.files;
        input.dispatchEvent(new Event('change', { bubbles: true }));`, pdf);
      const end = Date.now() + 15000;
      let out;
      while (Date.now() < end && !out) {
        const sent = await json("GET", `${simUrl}/control/sent`);
        out = sent.find((m) => m.payload.type === "document" && m.payload.document && m.payload.document.filename === "rechnung.pdf");
        if (!out) await sleep(200);
      }
      assert(out, "the simulator never received the document");
      const page = await s.exec(`return location.href`);
      await s.exec(`window.__errors = []; window.addEventListener('error', (e) => window.__errors.push(String(e.message) + ' ' + (e.error && e.error.stack))); const ce = console.error; console.error = (...a) => { window.__errors.push(a.map(String).join(' ')); ce(...a); };`);
      // Saves the newest document; waits for a notice naming a file other than `before` (React owns
      // the notice: the test never removes it).
      const save = async (before = "") => {
        await s.waitFor("the document bubble", `return !!document.querySelector('[data-testid=document-save]')`, { timeout: 15000 });
        await s.exec(`const b = [...document.querySelectorAll('[data-testid=document-save]')].pop(); b.scrollIntoView(); b.click()`);
        return s.waitFor("the saved notice", `const n = [...document.querySelectorAll('[data-testid=document-saved]')].pop(); return n && n.dataset.path !== arguments[0] && [n.dataset.path, n.textContent]`, { args: [before], timeout: 10000 }).catch(async (e) => {
          const html = await s.exec(`return [...document.querySelectorAll('[data-testid=document]')].map(d => d.outerHTML).join('\\n') + ' | ' + JSON.stringify(window.__errors)`);
          await shot(s, "document-failure").catch(() => {});
          throw new Error(`${e.message}; the document bubbles: ${html}`);
        });
      };
      const [first, text] = await save();
      assert(path.basename(first) === "rechnung.pdf" && path.basename(path.dirname(first)) === "Downloads", `saved as ${first}`);
      assert(text === "Saved as rechnung.pdf in Downloads", `notice ${JSON.stringify(text)}`);
      assert(fs.readFileSync(first, "utf8") === pdf, "the saved file differs from the document sent");
      assert((fs.statSync(first).mode & 0o777) === 0o600, `the file is readable by others: ${(fs.statSync(first).mode & 0o777).toString(8)}`);
      assert((await s.exec(`return location.href`)) === page, "the app navigated away to show the document");
      await shot(s, "document-saved");
      // In German, saved again: a second file beside the first, never over it.
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      const [second, textDe] = await save(first);
      assert(path.basename(second) === "rechnung (1).pdf", `saved again as ${second}`);
      assert(textDe === "Gespeichert als rechnung (1).pdf in Downloads", `German notice ${JSON.stringify(textDe)}`);
      assert(fs.readFileSync(first, "utf8") === pdf && fs.readFileSync(second, "utf8") === pdf, "a saved file was changed");
      await shot(s, "document-saved-de");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
    });

    await test("a customer's reaction shows on the message it reacts to, not as a bubble of its own", async () => {
      const sent = await json("GET", `${simUrl}/control/sent`);
      const target = sent.find((m) => JSON.stringify(m.payload).includes(reply));
      assert(target, "the reply is not among the simulator's sends");
      await json("POST", `${simUrl}/control/webhooks/raw`, {
        object: "whatsapp_business_account",
        entry: [{ id: WABA, changes: [{ field: "messages", value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: DISPLAY_NUMBER, phone_number_id: PNID },
          contacts: [{ profile: { name: "Erika Muster" }, wa_id: "4915112345678" }],
          messages: [{ from: "4915112345678", id: `wamid.e2e-reaction-${Date.now()}`, timestamp: String(Math.floor(Date.now() / 1000)), type: "reaction", reaction: { message_id: target.wamid, emoji: "\u{1F44D}" } }],
        } }] }],
      });
      await s.waitFor("the reaction on the reply", `return [...document.querySelectorAll('[data-testid=message]')].some(b => b.textContent.includes(arguments[0]) && [...b.querySelectorAll('[data-testid=reaction]')].some(r => r.textContent === '\u{1F44D}'))`, { args: [reply], timeout: 5000 });
      const own = await s.exec(`return document.querySelectorAll('[data-testid=message] .text.reaction').length`);
      assert(own === 0, `${own} reaction(s) still shown as bubbles of their own`);
      // The customer takes the reaction back (a reaction without an emoji).
      await json("POST", `${simUrl}/control/webhooks/raw`, {
        object: "whatsapp_business_account",
        entry: [{ id: WABA, changes: [{ field: "messages", value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: DISPLAY_NUMBER, phone_number_id: PNID },
          contacts: [{ profile: { name: "Erika Muster" }, wa_id: "4915112345678" }],
          messages: [{ from: "4915112345678", id: `wamid.e2e-unreact-${Date.now()}`, timestamp: String(Math.floor(Date.now() / 1000)), type: "reaction", reaction: { message_id: target.wamid } }],
        } }] }],
      });
      await s.waitFor("the reaction gone", `return document.querySelectorAll('[data-testid=reaction]').length === 0 && document.querySelectorAll('[data-testid=message] .text.reaction').length === 0`, { timeout: 5000 });
    });

    await test("a customer's edit and deletion change the message in place, marked; a marketing stop shows on the customer (English and German)", async () => {
      const original = "Ich brauche 3 Stück";
      const { wamid } = await json("POST", `${simUrl}/control/customers/4915112345678/messages`, { text: original, name: "Erika Muster" });
      const bubble = `[...document.querySelectorAll('[data-testid=message]')].find(b => b.textContent.includes(arguments[0]))`;
      await s.waitFor("the customer's message", `return !!${bubble}`, { args: [original], timeout: 5000 });
      await json("POST", `${simUrl}/control/customers/4915112345678/messages`, { type: "edit", original: wamid, text: "Ich brauche 5 Stück" });
      await s.waitFor("the edit, in place and marked", `const b = ${bubble}; return b && b.dataset.edited === 'true' && !!b.querySelector('[data-testid=edited-mark]') && !${bubble.replace("arguments[0]", "'Ich brauche 3 Stück'")}`, { args: ["Ich brauche 5 Stück"], timeout: 5000 });
      const history = await s.exec(`return ${bubble}.querySelector('[data-testid=edited-mark]').title`, "Ich brauche 5 Stück");
      assert(history.includes(original), `the earlier version is kept: ${history}`);
      const count = await s.exec(`return document.querySelectorAll('[data-testid=message]').length`);
      await json("POST", `${simUrl}/control/customers/4915112345678/messages`, { type: "revoke", original: wamid });
      await s.waitFor("deleted by the customer, still readable", `const b = ${bubble}; return b && b.dataset.deleted === 'true' && /Deleted by the customer/.test(b.querySelector('[data-testid=deleted-note]')?.textContent ?? '')`, { args: ["Ich brauche 5 Stück"], timeout: 5000 });
      assert((await s.exec(`return document.querySelectorAll('[data-testid=message]').length`)) === count, "an amendment became a bubble of its own");
      // She also stops marketing messages: the customer panel says so.
      await json("POST", `${simUrl}/control/webhooks/raw`, {
        object: "whatsapp_business_account",
        entry: [{ id: WABA, changes: [{ field: "user_preferences", value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: DISPLAY_NUMBER, phone_number_id: PNID },
          contacts: [{ profile: { name: "Erika Muster" }, wa_id: "4915112345678" }],
          user_preferences: [{ wa_id: "4915112345678", detail: "User requested to stop marketing messages", category: "marketing_messages", value: "stop", timestamp: Math.floor(Date.now() / 1000) }],
        } }] }],
      });
      await s.waitFor("the stop in the customer panel", `const d = document.querySelector('[data-testid=customer-marketing]'); return d && d.dataset.stopped === 'true' && /Stopped by the customer/.test(d.textContent)`, { timeout: 5000 });
      await shot(s, "message-edited-deleted");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("German marks", `const b = ${bubble}; return b && b.querySelector('[data-testid=edited-mark]')?.textContent === 'bearbeitet' && /Vom Kunden gelöscht/.test(b.querySelector('[data-testid=deleted-note]')?.textContent ?? '')`, { args: ["Ich brauche 5 Stück"], timeout: 5000 });
      assert(/Vom Kunden abbestellt/.test(await s.exec(`return document.querySelector('[data-testid=customer-marketing]').textContent`)), "German marketing state");
      await shot(s, "message-edited-deleted-de");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
    });

    await test("what the business wrote from the phone app and the shared history show in place, marked; the phone app's name for the customer (English and German)", async () => {
      const fromPhone = "Vom Handy: Ihr Paket ist unterwegs";
      await json("POST", `${simUrl}/control/phone-app/messages`, { to: "4915112345678", text: fromPhone });
      const bubble = `[...document.querySelectorAll('[data-testid=message]')].find(b => b.textContent.includes(arguments[0]))`;
      await s.waitFor("the phone app's message, outbound and marked", `const b = ${bubble}; return b && b.classList.contains('out') && b.querySelector('[data-testid=origin-mark]')?.dataset.origin === 'phone_app' && /sent from the phone app/.test(b.textContent)`, { args: [fromPhone], timeout: 5000 });
      // Its statuses come as for any message the business sent.
      await s.waitFor("its ticks", `const b = ${bubble}; return b && ['delivered', 'read'].includes(b.dataset.status)`, { args: [fromPhone], timeout: 8000 });
      // A voice note from the phone app: played by the customer, shown so.
      const voices = `[...document.querySelectorAll('[data-testid=message][data-type=audio]')]`;
      const before = await s.exec(`return ${voices}.length`);
      await json("POST", `${simUrl}/control/phone-app/messages`, { to: "4915112345678", type: "audio" });
      await s.waitFor("the voice note, played", `const a = ${voices}; const v = a[a.length - 1]; return a.length > arguments[0] && v.dataset.status === 'played' && v.querySelector('[data-testid=tick]').classList.contains('played') && v.querySelector('[data-testid=origin-mark]')?.dataset.origin === 'phone_app'`, { args: [before], timeout: 10000 });
      // It plays from the relay (its media archive, or WhatsApp while the archive fetches it).
      await s.exec(`const a = ${voices}; a[a.length - 1].querySelector('button.link').click()`);
      await s.waitFor("the voice note's audio", `const a = ${voices}; const el = a[a.length - 1].querySelector('audio'); return !!el && !!el.src`, { timeout: 8000 });
      const old = "Gibt es die Jacke auch in Blau?";
      await json("POST", `${simUrl}/control/phone-app/history`, { wa_id: "4915112345678", messages: [
        { text: old, secs_ago: 40 * 86400 },
        { from_business: true, text: "Ja, ab nächster Woche.", secs_ago: 40 * 86400 - 120 },
      ] });
      await s.waitFor("the history, marked and placed before today's messages", `const all = [...document.querySelectorAll('[data-testid=message]')]; const i = all.findIndex(b => b.textContent.includes(arguments[0])); const j = all.findIndex(b => b.textContent.includes(arguments[1])); return i >= 0 && j > i && all[i].querySelector('[data-testid=origin-mark]')?.dataset.origin === 'history'`, { args: [old, fromPhone], timeout: 5000 });
      await json("POST", `${simUrl}/control/phone-app/contacts`, { action: "add", phone_number: "4915112345678", full_name: "Erika (Stammkundin)" });
      await s.waitFor("the phone app's name on the customer", `return document.querySelector('[data-testid=customer-app-name]')?.textContent === 'Erika (Stammkundin)'`, { timeout: 5000 });
      await shot(s, "coexistence");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("German marks", `const b = ${bubble}; return b && /vom Handy gesendet/.test(b.textContent) && [...document.querySelectorAll('[data-testid=origin-mark]')].some(m => m.textContent === 'aus dem geteilten Verlauf')`, { args: [fromPhone], timeout: 5000 });
      await shot(s, "coexistence-de");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
    });

    await test("conversation actions: assign to me, tag (and filter by it), note, resolve, reopen", async () => {
      await s.waitFor("the actions", `return !!document.querySelector('[data-testid=conversation-view] [data-testid=resolve]')`);
      assert(!(await s.exec(`return !!document.querySelector('[data-testid=open-monitor]')`)), "an agent is offered the supervisor monitor");
      // Routing may already have given it to the only agent online.
      if (await s.exec(`return !!document.querySelector('[data-testid=assign-to-me]')`)) await s.click("[data-testid=assign-to-me]");
      await s.waitFor("assigned to me", `const a = document.querySelector('[data-testid=assignee]'); return a && a.dataset.assigneeId !== '' && !document.querySelector('[data-testid=assign-to-me]')`, { timeout: 5000 });
      await s.type("[data-testid=tag-input]", "VIP");
      await s.click("[data-testid=tag-add]");
      await s.waitFor("the tag", `return !!document.querySelector('[data-testid=tag][data-tag=vip]')`, { timeout: 5000 });
      await s.waitFor("the tag in the filter", `return [...document.querySelectorAll('[data-testid=filter-tag] option')].some(o => o.value === 'vip')`, { timeout: 5000 });
      await choose(s, "[data-testid=filter-tag]", "vip");
      try {
        await s.waitFor("only the tagged conversation listed", `const l = document.querySelector('[data-testid=conversation-list]'); return l && l.dataset.count === '1' && l.textContent.includes('Erika Muster')`);
      } finally {
        await choose(s, "[data-testid=filter-tag]", "");
      }
      const note = "Ruft lieber abends an";
      await s.type("[data-testid=note-input]", note);
      await s.click("[data-testid=note-add]");
      await s.waitFor("the note", `return [...document.querySelectorAll('[data-testid=note]')].some(n => n.textContent.includes(arguments[0]))`, { args: [note], timeout: 5000 });
      await s.click("[data-testid=resolve]");
      await s.waitFor("the reopen button", `return !!document.querySelector('[data-testid=reopen]') && !document.querySelector('[data-testid=action-error]')`, { timeout: 5000 });
      await shot(s, "resolved");
      await s.click("[data-testid=reopen]");
      await s.waitFor("open again", `return !!document.querySelector('[data-testid=resolve]') && !document.querySelector('[data-testid=action-error]')`, { timeout: 5000 });
    });

    const offline = ["Offline eins", "Offline zwei"];
    await test("relay stopped: two messages wait as pending, and after the restart the simulator receives each exactly once", async () => {
      await stop(relay);
      await s.waitFor("connection state offline", `const e = document.querySelector('[data-testid=connection-state]'); return e && e.dataset.state === 'offline'`, { timeout: 15000 });
      for (const text of offline) {
        await s.type("[data-testid=composer]", text);
        await s.click("[data-testid=send]");
      }
      const pending = await s.waitFor("two pending bubbles", `
        const b = [...document.querySelectorAll('[data-testid=message][data-pending=true]')];
        return b.filter(x => arguments[0].some(t => x.textContent.includes(t))).length === 2 && b.map(x => x.dataset.status)`, { args: [offline] });
      assert(pending.every((st) => st === "queued"), `pending bubbles say ${pending}`);
      await shot(s, "offline");
      relay = start("relay", relayBin, ["serve"], relayEnv);
      await waitHttp(`${relayUrl}/healthz`);
      const count = async () => {
        const sent = await json("GET", `${simUrl}/control/sent`);
        return offline.map((t) => sent.filter((m) => JSON.stringify(m.payload).includes(t)).length);
      };
      const end = Date.now() + 45000;
      let c = await count();
      while (!(c[0] >= 1 && c[1] >= 1) && Date.now() < end) {
        await sleep(200);
        c = await count();
      }
      assert(c[0] >= 1 && c[1] >= 1, `after the restart the simulator got ${c} of the two messages`);
      await s.waitFor("no pending bubble left", `return document.querySelectorAll('[data-testid=message][data-pending=true]').length === 0`, { timeout: 15000 });
      await sleep(1500);
      c = await count();
      assert(c[0] === 1 && c[1] === 1, `each message should reach the simulator once, counts: ${c}`);
      const sent = await json("GET", `${simUrl}/control/sent`);
      const order = sent.map((m) => JSON.stringify(m.payload)).filter((p) => offline.some((t) => p.includes(t)));
      assert(order[0].includes(offline[0]) && order[1].includes(offline[1]), "the two messages left out of order");
    });

    await test("a closed 24-hour window replaces the composer with the template picker", async () => {
      const ts = Math.floor(Date.now() / 1000) - 25 * 3600;
      await json("POST", `${simUrl}/control/webhooks/raw`, {
        object: "whatsapp_business_account",
        entry: [{ id: "100000000000001", changes: [{ field: "messages", value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: DISPLAY_NUMBER, phone_number_id: PNID },
          contacts: [{ profile: { name: "Gestern Kunde" }, wa_id: "4917000000002" }],
          messages: [{ from: "4917000000002", id: `wamid.e2e-old-${Date.now()}`, timestamp: String(ts), type: "text", text: { body: "Nachricht von gestern" } }],
        } }] }],
      });
      await s.waitFor("yesterday's conversation", `const r = [...document.querySelectorAll('[data-testid=conversation]')].find(r => r.textContent.includes('Gestern Kunde')); if (r) r.click(); return !!r`, { timeout: 5000 });
      await s.waitFor("the template picker", `return !!document.querySelector('[data-testid=template-picker]') && !document.querySelector('[data-testid=composer]')`);
      await s.waitFor("approved templates listed", `return document.querySelectorAll('[data-testid=template-select] option').length > 1`, { timeout: 5000 });
      await shot(s, "template-picker");
    });

    await test("idle past the threshold or locked: away on the relay; back on input", async () => {
      await s.click("[data-testid=settings]");
      await s.exec(`const el = document.querySelector('[data-testid=idle-minutes]');
        Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, '1');
        el.dispatchEvent(new Event('input', { bubbles: true }));`);
      await s.click("[data-testid=settings-close]");
      const auto = `const e = document.querySelector('[data-testid=my-status]'); return e && e.dataset.autoAway === 'true'`;
      const back = `const e = document.querySelector('[data-testid=my-status]'); return e && e.dataset.autoAway === undefined`;
      fs.writeFileSync(idleFile, "120");
      await s.waitFor("away after 2 idle minutes (threshold 1)", auto, { timeout: 15000 });
      fs.writeFileSync(idleFile, "31");
      await sleep(6000);
      assert(await s.exec(auto), "went back online without fresh input (idle 31 s)");
      fs.writeFileSync(idleFile, "2");
      await s.waitFor("online again after input", back, { timeout: 15000 });
      fs.writeFileSync(idleFile, "2 locked");
      await s.waitFor("away while locked", auto, { timeout: 15000 });
      fs.writeFileSync(idleFile, "0");
      await s.waitFor("online again once unlocked", back, { timeout: 15000 });
    });

    await test("clicking a desktop notification opens its conversation (the app is not focused by anyone else)", async () => {
      const other = start("xmessage2", "xmessage", ["-geometry", "300x60+900+700", "another application"], {});
      xdotool("windowfocus", "--sync", await xWindow("xmessage"));
      await s.waitFor("the app to lose the focus", `return !document.hasFocus()`, { timeout: 3000 });
      const text = "Rückfrage zur Rechnung 0815";
      await json("POST", `${simUrl}/control/customers/4915199990815/messages`, { text, name: "Klaus Klick" });
      let id = null;
      const end = Date.now() + 5000;
      while ((id = notificationId("0815")) === null && Date.now() < end) await sleep(50);
      assert(id !== null, "no notification (or no id from the notification server) for the message");
      // What the notification server sends when the notification itself is clicked.
      const r = spawnSync("dbus-send", ["--session", "--type=signal", "/org/freedesktop/Notifications", "org.freedesktop.Notifications.ActionInvoked", `uint32:${id}`, "string:default"], { encoding: "utf8" });
      assert(r.status === 0, `dbus-send: ${r.stderr}`);
      await s.waitFor("the clicked conversation to open", `const v = document.querySelector('[data-testid=conversation-view]'); return v && v.textContent.includes(arguments[0])`, { args: [text], timeout: 5000 });
      await stop(other);
    });

    await test("a supervisor's monitor lists the agents live and opens an agent's conversation to reassign it", async () => {
      await signInAs(SUP_EMAIL, SUP_PASSWORD);
      await s.click("[data-testid=open-monitor]");
      const rows = await s.waitFor("agent rows", `const r = [...document.querySelectorAll('[data-testid=monitor] [data-testid=monitor-agent]')]; return r.some(x => x.textContent.includes('Erin Agent')) && r.map(x => x.textContent)`, { timeout: 10000 });
      console.log(`     monitor rows: ${rows.join(" | ")}`);
      await s.exec(`[...document.querySelectorAll('[data-testid=monitor-agent]')].find(x => x.textContent.includes('Erin Agent')).click()`);
      await s.waitFor("Erin's conversations (from the supervisor's cache)", `return !!document.querySelector('[data-testid=monitor-conversation]')`, { timeout: 10000 });
      await shot(s, "monitor");
      await s.click("[data-testid=monitor-conversation]");
      await s.waitFor("the conversation with its actions", `return !document.querySelector('[data-testid=monitor]') && !!document.querySelector('[data-testid=conversation-view] [data-testid=transfer]')`);
      await s.click("[data-testid=transfer]");
      await s.waitFor("the directory in the transfer picker", `return [...document.querySelectorAll('[data-testid=transfer-target] option')].some(o => o.value.startsWith('agent:'))`, { timeout: 5000 });
      // Reassign to the supervisor (not online as an agent: forced).
      const me = await s.exec(`return [...document.querySelectorAll('[data-testid=transfer-target] option')].find(o => o.textContent.includes('Sam Supervisor'))?.value ?? null`);
      assert(me, "the supervisor is not in the directory");
      await choose(s, "[data-testid=transfer-target]", me);
      await s.click("[data-testid=transfer-force]");
      await s.click("[data-testid=transfer-confirm]");
      await s.waitFor("reassigned", `const a = document.querySelector('[data-testid=assignee]'); return a && a.dataset.assigneeId === arguments[0].split(':')[1] && !document.querySelector('[data-testid=transfer-picker]')`, { args: [me], timeout: 5000 }).catch(async (e) => {
        const err = await s.exec(`return document.querySelector('[data-testid=action-error]')?.textContent ?? null`);
        throw new Error(`${e.message}; inline error: ${err}`);
      });
      // Then hand it to a team (routed to a member, or queued for the team).
      await s.click("[data-testid=transfer]");
      const team = await s.waitFor("the team in the picker", `return [...document.querySelectorAll('[data-testid=transfer-target] option')].find(o => o.value.startsWith('team:') && o.textContent.includes('Versand'))?.value`, { timeout: 5000 });
      await choose(s, "[data-testid=transfer-target]", team);
      await s.click("[data-testid=transfer-confirm]");
      await s.waitFor("handed to the team", `const a = document.querySelector('[data-testid=assignee]'); return a && a.dataset.assigneeId !== arguments[0].split(':')[1] && !document.querySelector('[data-testid=transfer-picker]') && !document.querySelector('[data-testid=action-error]')`, { args: [me], timeout: 5000 });
      await s.click("[data-testid=open-monitor]");
      await s.waitFor("the team's row", `return [...document.querySelectorAll('[data-testid=monitor-team]')].some(r => r.textContent.includes('Versand'))`, { timeout: 10000 });
    });

    await test("in German: the monitor and the conversation actions", async () => {
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("German monitor", `return document.querySelector('[data-testid=close-monitor]')?.textContent === 'Zurück zum Posteingang'`);
      await shot(s, "monitor-de");
      await s.click("[data-testid=monitor-conversation], [data-testid=close-monitor]");
      await s.exec(`document.querySelector('[data-testid=conversation]')?.click()`);
      await s.waitFor("German actions", `const b = document.querySelector('[data-testid=resolve], [data-testid=reopen]'); return b && ['Erledigen', 'Wieder öffnen'].includes(b.textContent)`, { timeout: 5000 });
      await shot(s, "conversation-de");
    });
    await test("the admin console: a custom role and a user of it, refusals beside their fields (German and English)", async () => {
      await signInAs(ADMIN_EMAIL, ADMIN_PASSWORD);
      await s.click("[data-testid=open-admin]");
      await s.waitFor("the users table", `return document.querySelectorAll('[data-testid=user-row]').length >= 3`, { timeout: 10000 }).catch(async (e) => {
        const html = await s.exec(`return document.querySelector('[data-testid=admin]')?.outerHTML ?? document.body.innerText.slice(0, 2000)`);
        throw new Error(`${e.message}; the admin view: ${html}`);
      });
      // German first (the previous test chose it): the roles tab, a new role with the monitor only.
      await s.click("[data-testid=admin-tab-roles]");
      await s.waitFor("the predefined roles", `return document.querySelectorAll('[data-testid=role]').length >= 3`);
      const heading = await s.exec(`return document.querySelector('[data-testid=new-role] h3').textContent`);
      assert(heading === "Neue Rolle", `German heading ${JSON.stringify(heading)}`);
      await fill("[data-testid=new-role-name]", "<b>x</b>");
      await s.click("[data-testid=create-role]");
      const nameError = await s.waitFor("the name refused beside the field", `return document.querySelector('[data-testid=new-role-name-error]')?.textContent`);
      assert(/Satzzeichen/.test(nameError), `German name error ${JSON.stringify(nameError)}`);
      await fill("[data-testid=new-role-name]", "Qualität");
      await s.exec(`document.querySelector('[data-testid=new-role-perm][data-permission=monitor]').click()`);
      await s.click("[data-testid=create-role]");
      await s.waitFor("the new role", `return !!document.querySelector('[data-testid=role][data-name="Qualität"]')`, { timeout: 5000 });
      // The same name again: the relay's refusal beside the name.
      await fill("[data-testid=new-role-name]", "QUALITÄT");
      await s.click("[data-testid=create-role]");
      await s.waitFor("the relay's refusal beside the name", `return /exists/.test(document.querySelector('[data-testid=new-role-name-error]')?.textContent ?? '')`, { timeout: 5000 });
      await shot(s, "admin-roles-de");
      // The users tab: a user of the new role; a short password refused before sending.
      await s.click("[data-testid=admin-tab-users]");
      await s.waitFor("the new-user form", `return !!document.querySelector('[data-testid=new-user-email]')`);
      await fill("[data-testid=new-user-email]", "quinn@e2e.switchboard");
      await fill("[data-testid=new-user-name]", "Quinn Qualität");
      await choose(s, "[data-testid=new-user-role]", "Qualität");
      await fill("[data-testid=new-user-password]", "kurz");
      await s.click("[data-testid=create-user]");
      const pwError = await s.waitFor("the password refused beside the field", `return document.querySelector('[data-testid=new-user-password-error]')?.textContent`);
      assert(pwError === "Mindestens 8 Zeichen", `German password error ${JSON.stringify(pwError)}`);
      await fill("[data-testid=new-user-password]", "Quinn-prueft-2026");
      await s.click("[data-testid=create-user]");
      await s.waitFor("Quinn's row", `return !!document.querySelector('[data-testid=user-row][data-email="quinn@e2e.switchboard"]')`, { timeout: 5000 });
      await shot(s, "admin-users-de");
      // The relay holds what the screen says.
      const ada = await json("POST", `${relayUrl}/api/v1/auth/login`, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      const accounts = await (await fetch(`${relayUrl}/api/v1/admin/users`, { headers: { authorization: `Bearer ${ada.token}` } })).json();
      const quinn = accounts.find((a) => a.email === "quinn@e2e.switchboard");
      assert(quinn && quinn.role === "Qualität" && quinn.active, `the relay has ${JSON.stringify(quinn)}`);
      // A duplicate email: the relay's refusal beside the email field.
      await fill("[data-testid=new-user-email]", "quinn@e2e.switchboard");
      await fill("[data-testid=new-user-name]", "Noch mal");
      await fill("[data-testid=new-user-password]", "Quinn-prueft-2026");
      await s.click("[data-testid=create-user]");
      await s.waitFor("the duplicate refused beside the email", `return /already exists/.test(document.querySelector('[data-testid=new-user-email-error]')?.textContent ?? '')`, { timeout: 5000 });
      // A business number by name: a phone number the relay would refuse is refused beside its
      // field; the number added appears in the list and, by its name, in the inbox filter.
      await s.click("[data-testid=admin-tab-numbers]");
      await s.waitFor("the numbers", `return !!document.querySelector('[data-testid=number-row]')`, { timeout: 5000 });
      await fill("[data-testid=number-name]", "Vertrieb");
      await fill("[data-testid=number-display]", "0800-FLOWERS");
      await fill("[data-testid=number-id]", "200000000000007");
      await s.click("[data-testid=add-number]");
      const phoneError = await s.waitFor("the phone refused beside its field", `return document.querySelector('[data-testid=number-display-error]')?.textContent`);
      assert(/Ziffern/.test(phoneError), `German phone error ${JSON.stringify(phoneError)}`);
      await fill("[data-testid=number-display]", "+49 30 123456");
      await s.click("[data-testid=add-number]");
      await s.waitFor("the new number", `const r = document.querySelector('[data-testid=number-row][data-id="200000000000007"]'); return r && r.dataset.configured === 'true' && r.textContent.includes('+4930123456')`, { timeout: 5000 });
      await s.waitFor("the number by name in the inbox filter", `return [...document.querySelectorAll('[data-testid=filter-number] option')].some(o => o.textContent === 'Vertrieb' && o.value === '200000000000007')`, { timeout: 5000 });
      await shot(s, "admin-numbers-de");
      // An auto-reply: a regular expression that does not compile is refused beside the keywords;
      // the rule saved answers a customer who asks.
      await s.click("[data-testid=admin-tab-replies]");
      await s.waitFor("the rule form", `return !!document.querySelector('[data-testid=rule-number] option')`, { timeout: 5000 });
      await fill("[data-testid=rule-name]", "Öffnungszeiten");
      await choose(s, "[data-testid=rule-number]", PNID);
      await choose(s, "[data-testid=rule-match]", "regex");
      await fill("[data-testid=rule-keywords]", "([");
      await s.exec(`const el = document.querySelector('[data-testid=rule-reply]');
        Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(el, arguments[0]);
        el.dispatchEvent(new Event('input', { bubbles: true }));`, "Wir sind Mo-Fr von 9 bis 17 Uhr für Sie da.");
      await s.click("[data-testid=create-rule]");
      await s.waitFor("the regex refused beside the keywords", `return /regular expression/.test(document.querySelector('[data-testid=rule-keywords-error]')?.textContent ?? '')`, { timeout: 5000 });
      await choose(s, "[data-testid=rule-match]", "any");
      await fill("[data-testid=rule-keywords]", "Öffnungszeiten, geöffnet");
      await s.click("[data-testid=create-rule]");
      await s.waitFor("the rule", `return !!document.querySelector('[data-testid=rule-row][data-name="Öffnungszeiten"]')`, { timeout: 5000 });
      await shot(s, "admin-replies-de");
      await json("POST", `${simUrl}/control/customers/4915199999999/messages`, { text: "Wann haben Sie Öffnungszeiten?", name: "Otto Offen" });
      const replyEnd = Date.now() + 10000;
      let autoReply;
      while (Date.now() < replyEnd && !autoReply) {
        autoReply = (await json("GET", `${simUrl}/control/sent`)).find((m) => m.payload.to === "+4915199999999" && JSON.stringify(m.payload).includes("von 9 bis 17 Uhr"));
        if (!autoReply) await sleep(200);
      }
      assert(autoReply, "the customer got no auto-reply");
      // Sensitive words: saved, and a sample message tried live against the list in force.
      await s.click("[data-testid=admin-tab-words]");
      await s.waitFor("the stored word list", `return document.querySelector('[data-testid=words-list]')?.dataset.loaded === 'true'`);
      await s.exec(`const el = document.querySelector('[data-testid=words-list]');
        Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(el, arguments[0]);
        el.dispatchEvent(new Event('input', { bubbles: true }));`, "kostenlos\n\nKOSTENLOS\nzu verschenken");
      await s.click("[data-testid=words-save]");
      await s.waitFor("the list saved", `return !!document.querySelector('[data-testid=words-saved]') && document.querySelector('[data-testid=words-list]').value === 'kostenlos\\nzu verschenken'`, { timeout: 5000 });
      await fill("[data-testid=words-try]", "Heute alles K.O.S.T.E.N.L.O.S");
      const verdict = await s.waitFor("the verdict", `const v = document.querySelector('[data-testid=words-verdict]'); return v && v.dataset.blocked === 'true' && v.textContent`, { timeout: 5000 });
      assert(verdict.includes("kostenlos") && verdict.startsWith("Zur Prüfung"), `German verdict ${JSON.stringify(verdict)}`);
      await shot(s, "admin-words-de");
      await fill("[data-testid=words-try]", "Guten Tag");
      await s.waitFor("a message that passes", `return document.querySelector('[data-testid=words-verdict]')?.dataset.blocked === 'false'`, { timeout: 5000 });
      // The audit log lists each step (German), filtered to the role changes.
      await s.click("[data-testid=admin-tab-audit]");
      await s.waitFor("the audit entries", `return [...document.querySelectorAll('[data-testid=audit-entry]')].some(e => e.dataset.action === 'user.create')`, { timeout: 5000 });
      await fill("[data-testid=audit-action]", "role.");
      await s.click("[data-testid=audit-show]");
      const actions = await s.waitFor("only role changes", `const a = [...document.querySelectorAll('[data-testid=audit-entry]')].map(e => e.dataset.action); return a.length > 0 && a.every(x => x.startsWith('role.')) && a`, { timeout: 5000 });
      assert(actions.includes("role.create"), `audit actions ${actions}`);
      await shot(s, "admin-audit-de");
      // English: the same screens.
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
      await s.click("[data-testid=admin-tab-users]");
      await s.waitFor("English headings", `return document.querySelector('[data-testid=new-user] h3')?.textContent === 'New user'`);
      await shot(s, "admin-users");
      await s.click("[data-testid=admin-tab-roles]");
      await s.waitFor("English roles", `return document.querySelector('[data-testid=new-role] h3')?.textContent === 'New role'`);
      await shot(s, "admin-roles");
      await s.click("[data-testid=admin-tab-numbers]");
      await s.waitFor("English numbers", `return document.querySelector('[data-testid=new-number] h3')?.textContent === 'Add a business number'`);
      await shot(s, "admin-numbers");
      await s.click("[data-testid=admin-tab-replies]");
      await s.waitFor("English rules", `return document.querySelector('[data-testid=new-rule] h3')?.textContent === 'New auto-reply' && !!document.querySelector('[data-testid=rule-row]') && !!document.querySelector('[data-testid=rule-number] option')`);
      await shot(s, "admin-replies");
      await s.click("[data-testid=admin-tab-words]");
      await s.waitFor("English words", `return document.querySelector('[data-testid=words] h3')?.textContent === 'Sensitive words (every language)' && document.querySelector('[data-testid=words-list]').value.includes('kostenlos')`);
      await fill("[data-testid=words-try]", "Alles kostenlos");
      await s.waitFor("the English verdict", `return /^Held for review/.test(document.querySelector('[data-testid=words-verdict]')?.textContent ?? '')`, { timeout: 5000 });
      await shot(s, "admin-words");
      // The audit log as CSV, into Downloads.
      await s.click("[data-testid=admin-tab-audit]");
      await s.waitFor("English audit", `return document.querySelector('[data-testid=audit-show]')?.textContent === 'Show'`);
      await fill("[data-testid=audit-action]", "");
      await s.click("[data-testid=audit-export]");
      const csvPath = await s.waitFor("the CSV saved", `return document.querySelector('[data-testid=audit-saved]')?.dataset.path`, { timeout: 10000 });
      const csv = fs.readFileSync(csvPath, "utf8");
      assert(csv.startsWith("id,at,actor,action,details\n"), `CSV header: ${csv.slice(0, 80)}`);
      assert(csv.includes(`${ADMIN_EMAIL},role.create,`) && csv.includes("user.create"), `CSV rows: ${csv.slice(0, 600)}`);
      await shot(s, "admin-audit");
      // Quinn signs in: the monitor, not the admin console.
      await signInAs("quinn@e2e.switchboard", "Quinn-prueft-2026");
      assert(await s.exec(`return !!document.querySelector('[data-testid=open-monitor]') && !document.querySelector('[data-testid=open-admin]')`), "Quinn's role shows the monitor only");
      // The admin deactivates Quinn: the app says within seconds that the session ended.
      const r = await fetch(`${relayUrl}/api/v1/admin/users/${quinn.id}`, {
        method: "PATCH",
        headers: { "content-type": "application/json", authorization: `Bearer ${ada.token}` },
        body: JSON.stringify({ active: false }),
      });
      assert(r.status === 200, `deactivating Quinn: HTTP ${r.status}`);
      const t0 = Date.now();
      await s.waitFor("Quinn's app signed out, told why, its messages deleted", `const c = document.querySelector('[data-testid=connection-state]'); return c?.dataset.state === 'deactivated' && /deactivated/.test(c.textContent) && document.querySelectorAll('[data-testid=conversation]').length === 0`, { timeout: 10000 });
      console.log(`     signed out ${Date.now() - t0} ms after the deactivation`);
      await shot(s, "deactivated");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("the German notice", `return /deaktiviert/.test(document.querySelector('[data-testid=connection-state]')?.textContent ?? '')`, { timeout: 5000 });
      await shot(s, "deactivated-de");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
    });
    await test("a message with a sensitive word is refused, reviewed by the supervisor and released once (English and German)", async () => {
      const ada = await json("POST", `${relayUrl}/api/v1/auth/login`, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      const put = await fetch(`${relayUrl}/api/v1/admin/sensitive-words`, {
        method: "PUT",
        headers: { "content-type": "application/json", authorization: `Bearer ${ada.token}` },
        body: JSON.stringify({ entries: ["gratis"] }),
      });
      assert(put.status === 200, `sensitive words: HTTP ${put.status} ${await put.text()}`);
      await signInAs(EMAIL, PASSWORD);
      await json("POST", `${simUrl}/control/customers/4915177777777/messages`, { text: "Was kostet der Versand?", name: "Vera Versand" });
      await s.waitFor("Vera's conversation", `return [...document.querySelectorAll('[data-testid=conversation]')].some(r => r.textContent.includes('Vera Versand'))`, { timeout: 10000 });
      await s.exec(`[...document.querySelectorAll('[data-testid=conversation]')].find(r => r.textContent.includes('Vera Versand')).click()`);
      await s.waitFor("the composer", `return !!document.querySelector('[data-testid=composer]')`);
      const text = "Der Versand ist heute gratis";
      await s.type("[data-testid=composer]", text);
      await s.click("[data-testid=send]");
      await s.waitFor("the refusal on the message", `const b = [...document.querySelectorAll('[data-testid=message]')].find(x => x.textContent.includes(arguments[0])); return b && b.dataset.status === 'failed'`, { args: [text], timeout: 10000 });
      const sentBefore = (await json("GET", `${simUrl}/control/sent`)).filter((m) => JSON.stringify(m.payload).includes(text)).length;
      assert(sentBefore === 0, "the refused message reached the simulator");
      // The supervisor reviews it.
      await signInAs(SUP_EMAIL, SUP_PASSWORD);
      await s.click("[data-testid=open-review]");
      await s.waitFor("the blocked message, waiting", `return [...document.querySelectorAll('[data-testid=block]')].some(b => b.dataset.state === 'pending' && b.textContent.includes(arguments[0]))`, { args: [text], timeout: 10000 });
      await shot(s, "review");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("German review", `return document.querySelector('[data-testid=block-release]')?.textContent === 'Freigeben'`);
      await shot(s, "review-de");
      await s.exec(`[...document.querySelectorAll('[data-testid=block]')].find(b => b.textContent.includes(arguments[0])).querySelector('[data-testid=block-release]').click()`, text);
      await s.waitFor("released", `const b = [...document.querySelectorAll('[data-testid=block]')].find(b => b.textContent.includes(arguments[0])); return b && b.dataset.state === 'released' && b.querySelector('[data-testid=block-state]').textContent === 'Freigegeben'`, { args: [text], timeout: 10000 });
      const end = Date.now() + 10000;
      let count = 0;
      while (Date.now() < end && count === 0) {
        count = (await json("GET", `${simUrl}/control/sent`)).filter((m) => JSON.stringify(m.payload).includes(text)).length;
        if (!count) await sleep(200);
      }
      await sleep(1000);
      count = (await json("GET", `${simUrl}/control/sent`)).filter((m) => JSON.stringify(m.payload).includes(text)).length;
      assert(count === 1, `the simulator received the released message ${count} times`);
    });

    await test("routing and number settings, the queue with why a customer waits, an agent's month, alerts raised while signed out (German and English); verify-audit", async () => {
      await signInAs(ADMIN_EMAIL, ADMIN_PASSWORD);
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.click("[data-testid=open-admin]");
      await s.click("[data-testid=admin-tab-routing]");
      await s.waitFor("the stored thresholds", `return document.querySelector('[data-testid=routing-alert]')?.value === '300'`, { timeout: 5000 });
      // Refused in the form, beside its field: overdue before the alert.
      await fill("[data-testid=routing-alert]", "2");
      await fill("[data-testid=routing-overdue]", "1");
      await s.click("[data-testid=routing-save]");
      await s.waitFor("the overdue field refused", `return /mindestens so lang/.test(document.querySelector('[data-testid=routing-overdue-error]')?.textContent ?? '')`);
      await fill("[data-testid=routing-overdue]", "3");
      await fill("[data-testid=routing-grace]", "3600");
      await s.click("[data-testid=routing-save]");
      await s.waitFor("saved", `return !!document.querySelector('[data-testid=routing-saved]') && !document.querySelector('[data-testid=routing-overdue-error]')`, { timeout: 5000 });
      await fill("[data-testid=skills-input]", "Deutsch, Englisch");
      await s.click("[data-testid=skills-save]");
      await s.waitFor("the skills offered to agents", `const rows = [...document.querySelectorAll('[data-testid=agent-routing-row]')]; return rows.length > 0 && rows.every(r => [...r.querySelectorAll('[data-testid=agent-skill]')].map(x => x.dataset.skill).join() === 'Deutsch,Englisch')`, { timeout: 5000 }).catch(async (e) => {
        const seen = await s.exec(`return JSON.stringify({ error: document.querySelector('[data-testid=skills-error]')?.textContent ?? null, routingError: document.querySelector('[data-testid=routing-error]')?.textContent ?? null, rows: document.querySelectorAll('[data-testid=agent-routing-row]').length, skills: [...document.querySelectorAll('[data-testid=agent-skill]')].map(x => x.dataset.skill), input: document.querySelector('[data-testid=skills-input]')?.value })`);
        throw new Error(`${e.message}; the screen: ${seen}`);
      });
      // Erin speaks German only.
      await s.exec(`[...document.querySelectorAll('[data-testid=agent-routing-row]')].find(r => r.textContent.includes('Erin Agent')).querySelector('[data-testid=agent-skill][data-skill=Deutsch]').click()`);
      await s.exec(`[...document.querySelectorAll('[data-testid=agent-routing-row]')].find(r => r.textContent.includes('Erin Agent')).querySelector('[data-testid=agent-routing-save]').click()`);
      await s.waitFor("Erin's skills saved", `return [...document.querySelectorAll('[data-testid=agent-routing-row]')].find(r => r.textContent.includes('Erin Agent')).textContent.includes('Gespeichert')`, { timeout: 5000 });
      await shot(s, "admin-routing-de");
      // Auto-replies: try a message, edit the rule, pause it (the try says nobody answers), resume.
      await s.click("[data-testid=admin-tab-replies]");
      await s.waitFor("the rule", `return !!document.querySelector('[data-testid=rule-row][data-name="Öffnungszeiten"]') && !!document.querySelector('[data-testid=rule-try-number] option')`, { timeout: 5000 });
      const tryRule = async (text, expected) => {
        await fill("[data-testid=rule-try-text]", text);
        await s.click("[data-testid=rule-try-run]");
        return s.waitFor(`the try of ${JSON.stringify(text)}`, `const v = document.querySelector('[data-testid=rule-verdict]'); return v && v.dataset.rule === arguments[0] && v.textContent`, { args: [expected], timeout: 5000 });
      };
      const answer = await tryRule("Haben Sie heute geöffnet?", "Öffnungszeiten");
      assert(answer.includes("von 9 bis 17 Uhr"), `the try shows the reply: ${answer}`);
      await s.exec(`document.querySelector('[data-testid=rule-row][data-name="Öffnungszeiten"] [data-testid=rule-edit]').click()`);
      await s.waitFor("the rule in the form", `return document.querySelector('[data-testid=new-rule]')?.dataset.editing !== '' && document.querySelector('[data-testid=rule-name]').value === 'Öffnungszeiten'`);
      await s.exec(`const el = document.querySelector('[data-testid=rule-reply]');
        Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(el, arguments[0]);
        el.dispatchEvent(new Event('input', { bubbles: true }));`, "Wir haben Mo–Sa von 9 bis 18 Uhr geöffnet.");
      await s.click("[data-testid=create-rule]");
      await s.waitFor("the edited reply in the list", `return document.querySelector('[data-testid=new-rule]').dataset.editing === '' && document.querySelector('[data-testid=rule-row][data-name="Öffnungszeiten"]').textContent.includes('Mo–Sa von 9 bis 18 Uhr')`, { timeout: 5000 });
      await s.exec(`document.querySelector('[data-testid=rule-row][data-name="Öffnungszeiten"] [data-testid=rule-pause]').click()`);
      await s.waitFor("paused", `return document.querySelector('[data-testid=rule-row][data-name="Öffnungszeiten"]')?.dataset.paused === 'true'`, { timeout: 5000 });
      assert((await tryRule("Haben Sie heute geöffnet?", "")).includes("Keine aktive Regel"), "a paused rule still answers the try");
      await shot(s, "admin-replies-paused-de");
      await s.exec(`document.querySelector('[data-testid=rule-row][data-name="Öffnungszeiten"] [data-testid=rule-pause]').click()`);
      await s.waitFor("resumed", `return document.querySelector('[data-testid=rule-row][data-name="Öffnungszeiten"]')?.dataset.paused === 'false'`, { timeout: 5000 });
      await tryRule("Haben Sie heute geöffnet?", "Öffnungszeiten");
      // A word list for Turkish-speaking customers only.
      await s.click("[data-testid=admin-tab-words]");
      await s.waitFor("the stored word lists", `return document.querySelector('[data-testid=words-list]')?.dataset.loaded === 'true'`);
      await fill("[data-testid=words-new-lang]", "Türkisch");
      await s.click("[data-testid=words-add-lang]");
      await s.waitFor("the code refused", `return !!document.querySelector('[data-testid=words-new-lang-error]')`);
      await fill("[data-testid=words-new-lang]", "tr");
      await s.click("[data-testid=words-add-lang]");
      await s.waitFor("the Turkish list", `return !!document.querySelector('[data-testid=words-lang][data-lang=tr]')`);
      await s.exec(`const el = document.querySelector('[data-testid=words-lang][data-lang=tr]');
        Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(el, arguments[0]);
        el.dispatchEvent(new Event('input', { bubbles: true }));`, "bedava");
      await s.click("[data-testid=words-save]");
      await s.waitFor("the lists saved", `return !!document.querySelector('[data-testid=words-saved]')`, { timeout: 5000 });
      await fill("[data-testid=words-try]", "Kargo bedava");
      await s.waitFor("passes for any language", `return document.querySelector('[data-testid=words-verdict]')?.dataset.blocked === 'false'`, { timeout: 5000 });
      await choose(s, "[data-testid=words-try-lang]", "tr");
      await s.waitFor("held for a Turkish customer", `return document.querySelector('[data-testid=words-verdict]')?.dataset.blocked === 'true'`, { timeout: 5000 });
      await shot(s, "admin-words-languages-de");
      // The number: an unknown skill is refused by the relay beside the field; then English is required.
      await s.click("[data-testid=admin-tab-numbers]");
      await s.waitFor("the number", `return !!document.querySelector('[data-testid=number-row][data-id="${PNID}"] [data-testid=number-settings-open]')`, { timeout: 5000 });
      await s.click(`[data-testid=number-row][data-id="${PNID}"] [data-testid=number-settings-open]`);
      await s.waitFor("the number's settings", `return !!document.querySelector('[data-testid=routing-skills]') && !!document.querySelector('[data-testid=hours-mon]') && !!document.querySelector('[data-testid=rate-per-minute]')`, { timeout: 5000 });
      await fill("[data-testid=routing-skills]", "Französisch");
      await s.click("[data-testid=number-routing-save]");
      await s.waitFor("the relay's refusal beside the skills", `return /Französisch/.test(document.querySelector('[data-testid=routing-skills-error]')?.textContent ?? '')`, { timeout: 5000 });
      await fill("[data-testid=routing-skills]", "Englisch");
      await s.click("[data-testid=number-routing-save]");
      await s.waitFor("the routing saved", `return !!document.querySelector('[data-testid=number-routing] [data-testid=saved]')`, { timeout: 5000 });
      await fill("[data-testid=hours-mon]", "9-17");
      await s.click("[data-testid=hours-save]");
      await s.waitFor("the hours refused in the form", `return !!document.querySelector('[data-testid=hours-mon-error]')`);
      await fill("[data-testid=hours-mon]", "08:00-12:00, 13:00-18:00");
      await s.click("[data-testid=hours-save]");
      await s.waitFor("the hours stored", `return document.querySelector('[data-testid=business-hours]')?.dataset.stored === 'yes' && !!document.querySelector('[data-testid=business-hours] [data-testid=saved]')`, { timeout: 5000 });
      await fill("[data-testid=rate-per-minute]", "500");
      await s.click("[data-testid=rate-save]");
      await s.waitFor("the rate refused in the form", `return /20 und 120/.test(document.querySelector('[data-testid=rate-per-minute-error]')?.textContent ?? '')`);
      await fill("[data-testid=rate-per-minute]", "60");
      await s.click("[data-testid=rate-save]");
      await s.waitFor("the rate in force", `return /60/.test(document.querySelector('[data-testid=rate-effective]')?.textContent ?? '') && !!document.querySelector('[data-testid=rate-limit] [data-testid=saved]')`, { timeout: 5000 });
      await s.click("[data-testid=templates-sync-now]");
      const synced = await s.waitFor("the template sync's result", `const r = document.querySelector('[data-testid=templates-result]'); return r && r.textContent`, { timeout: 10000 });
      console.log(`     template sync: ${synced}`);
      await shot(s, "admin-number-settings-de");
      const ada = await json("POST", `${relayUrl}/api/v1/auth/login`, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      const hours = await (await fetch(`${relayUrl}/api/v1/admin/business-hours/${PNID}`, { headers: { authorization: `Bearer ${ada.token}` } })).json();
      assert(JSON.stringify(hours.weekly.mon) === JSON.stringify([["08:00", "12:00"], ["13:00", "18:00"]]), `stored hours ${JSON.stringify(hours)}`);
      const policy = await (await fetch(`${relayUrl}/api/v1/admin/numbers/${PNID}/routing`, { headers: { authorization: `Bearer ${ada.token}` } })).json();
      assert(JSON.stringify(policy.skills.number) === '["Englisch"]', `stored policy ${JSON.stringify(policy)}`);
      // The opening hours were only a test of the screen: remove them again (the away message
      // would otherwise answer the customer below).
      await s.click("[data-testid=hours-delete]");
      await s.waitFor("the hours removed", `return document.querySelector('[data-testid=business-hours]')?.dataset.stored === 'no'`, { timeout: 5000 });
      // English screens.
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("English number settings", `return document.querySelector('[data-testid=rate-limit] h3')?.textContent === 'Send rate'`);
      await shot(s, "admin-number-settings");
      await s.click("[data-testid=admin-tab-routing]");
      await s.waitFor("English routing", `return document.querySelector('[data-testid=routing-settings] h3')?.textContent === 'Waiting customers' && !!document.querySelector('[data-testid=agent-routing-row]')`, { timeout: 5000 });
      await shot(s, "admin-routing");

      // While the supervisor is signed out, an English-speaking customer writes and waits.
      await signInAs(EMAIL, PASSWORD);
      await signInAs(ADMIN_EMAIL, ADMIN_PASSWORD); // Erin was online a moment ago: within the grace period
      await json("POST", `${simUrl}/control/customers/447700900123/messages`, { text: "Hello, anyone there?", name: "Walter Waiting" });
      const sup = await json("POST", `${relayUrl}/api/v1/auth/login`, { email: SUP_EMAIL, password: SUP_PASSWORD });
      const end = Date.now() + 15000;
      let overdue = false;
      while (Date.now() < end && !overdue) {
        const ev = await (await fetch(`${relayUrl}/api/v1/events?after=0&limit=1000`, { headers: { authorization: `Bearer ${sup.token}` } })).json();
        overdue = ev.events.some((e) => e.kind === "conversation.overdue");
        if (!overdue) await sleep(300);
      }
      assert(overdue, "the relay raised no overdue alert");
      await signInAs(SUP_EMAIL, SUP_PASSWORD);
      const unseen = await s.waitFor("the alert badge at the start", `const b = document.querySelector('[data-testid=alerts]'); return b && Number(b.dataset.unseen) > 0 && Number(b.dataset.unseen)`, { timeout: 10000 });
      console.log(`     ${unseen} unseen alerts at the start`);
      const nEnd = Date.now() + 5000;
      while (!notifications().includes("Overdue: waiting") && Date.now() < nEnd) await sleep(100);
      assert(notifications().includes("Overdue: waiting"), "no desktop notification for the overdue customer");
      await s.click("[data-testid=alerts]");
      await s.waitFor("Walter's overdue alert", `return [...document.querySelectorAll('[data-testid=alert]')].some(a => a.dataset.kind === 'overdue' && a.dataset.applies === 'true' && a.textContent.includes('Walter Waiting'))`, { timeout: 5000 });
      await s.waitFor("the badge cleared", `return document.querySelector('[data-testid=alerts]')?.dataset.unseen === '0' && !document.querySelector('[data-testid=alerts-badge]')`, { timeout: 5000 }).catch(async (e) => {
        const seen = await s.execAsync(`const done = arguments[arguments.length - 1];
          const inv = window.__TAURI_INTERNALS__.invoke;
          inv('alerts').then((a) => inv('mark_alerts_seen', { upTo: Math.max(...a.items.map((x) => x.seq)) }).then((n) => done(JSON.stringify({ a, n })), (err) => done('mark failed: ' + JSON.stringify(err))), (err) => done('alerts failed: ' + JSON.stringify(err)));`);
        throw new Error(`${e.message}; ${seen}`);
      });
      await shot(s, "alerts");
      await s.click("[data-testid=alerts]");
      // The queue names why Walter waits and assigns him from there.
      await s.click("[data-testid=open-monitor]");
      const row = `[...document.querySelectorAll('[data-testid=queued]')].find(r => r.textContent.includes('Walter Waiting'))`;
      const reason = await s.waitFor("Walter in the queue", `const r = ${row}; return r && r.dataset.reason`, { timeout: 10000 });
      assert(["missing_skills", "nobody_online"].includes(reason), `reason ${reason}`);
      const why = await s.exec(`return ${row}.textContent`);
      assert(reason !== "missing_skills" || why.includes("Englisch"), `the reason names the missing skill: ${why}`);
      await shot(s, "monitor-queue");
      const erin = await s.exec(`return [...${row}.querySelectorAll('[data-testid=queued-agent] option')].find(o => o.textContent.includes('Erin Agent'))?.value`);
      assert(erin, "Erin is not offered in the queue");
      await s.exec(`const el = ${row}.querySelector('[data-testid=queued-agent]');
        Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(el, arguments[0]);
        el.dispatchEvent(new Event('change', { bubbles: true }));`, erin);
      await s.exec(`${row}.querySelector('[data-testid=queued-assign]').click()`);
      await s.waitFor("Walter assigned: out of the queue", `return !${row} && !document.querySelector('[data-testid=queue-error]')`, { timeout: 10000 });
      // Erin's month.
      await s.exec(`[...document.querySelectorAll('[data-testid=monitor-agent]')].find(x => x.textContent.includes('Erin Agent')).click()`);
      const month = await s.waitFor("Erin's last 30 days", `const m = document.querySelector('[data-testid=agent-month]'); return m && Number(m.dataset.conversations) >= 1 && m.textContent`, { timeout: 10000 });
      console.log(`     Erin's month: ${month}`);
      await shot(s, "monitor-agent-month");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("German queue and month", `return document.querySelector('[data-testid=waiting-queue] h3')?.textContent.startsWith('Warten auf Bearbeitung') && /Letzte 30 Tage/.test(document.querySelector('[data-testid=agent-month]')?.textContent ?? '')`, { timeout: 5000 });
      await shot(s, "monitor-queue-de");
      await s.click("[data-testid=alerts]");
      await s.waitFor("German alerts", `return document.querySelector('[data-testid=alert-list] h3')?.textContent === 'Warten zu lange'`);
      await shot(s, "alerts-de");
      await s.click("[data-testid=alerts]");

      // The audit log holds these steps, and its chain holds until a row is altered in the database.
      const audit = await (await fetch(`${relayUrl}/api/v1/admin/audit?limit=200`, { headers: { authorization: `Bearer ${ada.token}` } })).json();
      const acts = audit.map((e) => e.action);
      for (const a of ["routing.settings", "routing.skills"]) assert(acts.includes(a), `audit has no ${a}: ${acts.slice(0, 30)}`);
      const verify = () => spawnSync(relayBin, ["admin", "verify-audit"], { env: { ...process.env, ...relayEnv }, encoding: "utf8" });
      const ok = verify();
      assert(ok.status === 0, `verify-audit on the relay's chain: ${ok.status} ${ok.stdout}${ok.stderr}`);
      const victim = audit[audit.length - 1].id;
      const py = spawnSync("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE audit_log SET details = '{\\\"forged\\\":true}' WHERE id = ?\", (int(sys.argv[2]),)); c.commit()", path.join(relayEnv.SWITCHBOARD_DATA_DIR, "switchboard.db"), String(victim)], { encoding: "utf8" });
      assert(py.status === 0, `altering a row: ${py.stderr}`);
      const broken = verify();
      assert(broken.status !== 0 && `${broken.stdout}${broken.stderr}`.includes(`entry ${victim} `), `verify-audit after the edit: ${broken.status} ${broken.stdout}${broken.stderr}`);
      console.log(`     verify-audit after the edit: ${(broken.stdout + broken.stderr).trim().split("\n")[0]}`);
    });

    await test("business accounts: a Meta app's secret and an account's own token, refused beside the field until right, never shown again (English and German)", async () => {
      await signInAs(ADMIN_EMAIL, ADMIN_PASSWORD);
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
      await s.click("[data-testid=open-admin]");
      await s.click("[data-testid=admin-tab-numbers]");
      const row = `document.querySelector('[data-testid=account-row][data-waba="${WABA}"]')`;
      await s.waitFor("the number's account, on the relay's token", `const r = ${row}; return r && r.dataset.ownToken === 'false' && r.textContent.includes(arguments[0])`, { args: ["E2E Support"], timeout: 5000 });
      // A Meta app: an id that is not Meta's refused in the form, then saved with its secret.
      await fill("[data-testid=meta-app-id]", "app-x");
      await fill("[data-testid=meta-app-secret]", "0123456789abcdef0123456789abcdef");
      await s.click("[data-testid=meta-app-save]");
      await s.waitFor("the id refused beside its field", `return document.querySelector('[data-testid=meta-app-id-error]')?.textContent === 'Digits only'`);
      await fill("[data-testid=meta-app-id]", "555000111");
      await s.click("[data-testid=meta-app-save]");
      await s.waitFor("the app saved", `return !!document.querySelector('[data-testid=meta-app-saved]') && document.querySelector('[data-testid=meta-app-secret]').value === ''`, { timeout: 5000 });
      // The account's own token: too short is refused beside it; the simulator's token is taken.
      await s.exec(`${row}.querySelector('[data-testid=account-edit]').click()`);
      await fill("[data-testid=account-name]", "E2E Konto");
      await fill("[data-testid=account-token-input]", "short");
      await s.click("[data-testid=account-save]");
      await s.waitFor("the token refused beside its field", `return /8 to 1024 characters/.test(document.querySelector('[data-testid=account-token-error]')?.textContent ?? '')`);
      await fill("[data-testid=account-token-input]", TOKEN);
      await s.click("[data-testid=account-save]");
      await s.waitFor("its own token now", `const r = ${row}; return r && r.dataset.ownToken === 'true' && !!r.querySelector('[data-testid=account-saved]') && r.textContent.includes('E2E Konto')`, { timeout: 5000 });
      assert(!(await s.exec(`return document.body.innerText.includes(arguments[0])`, TOKEN)), "the token is shown again");
      // The WhatsApp side: the history shared earlier arrived whole; the voice note is archived.
      await s.waitFor("the history and the archive", `const h = document.querySelector('[data-testid=history-import][data-id="${PNID}"]'); const a = document.querySelector('[data-testid=media-archive]'); return h && h.dataset.state === 'historyDone' && /complete, 2 messages/.test(h.textContent) && a && Number(a.dataset.stored) >= 1`, { timeout: 5000 });
      await shot(s, "admin-business-accounts");
      // Sealed on the relay, and the audit says what changed, never the token.
      const ada = await json("POST", `${relayUrl}/api/v1/auth/login`, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      const audit = await (await fetch(`${relayUrl}/api/v1/admin/audit?limit=20`, { headers: { authorization: `Bearer ${ada.token}` } })).json();
      const entry = audit.find((e) => e.action === "business_account.update");
      assert(entry && entry.details.access_token === "replaced" && !JSON.stringify(audit).includes(TOKEN), `audit: ${JSON.stringify(audit.slice(0, 3))}`);
      // Replies still go out: the relay now sends with the account's own token (the simulator's).
      const before = (await json("GET", `${simUrl}/control/sent`)).length;
      await json("POST", `${simUrl}/control/customers/4915112345678/messages`, { text: "Noch da?", name: "Erika Muster" });
      const auth = { authorization: `Bearer ${ada.token}`, "content-type": "application/json" };
      const list = await (await fetch(`${relayUrl}/api/v1/conversations`, { headers: auth })).json();
      const conv = list.items.find((c) => c.contact.wa_id === "4915112345678");
      const r = await fetch(`${relayUrl}/api/v1/conversations/${conv.id}/messages`, { method: "POST", headers: auth, body: JSON.stringify({ type: "text", text: "Ja, gern." }) });
      assert(r.status === 202, `sending: HTTP ${r.status} ${await r.text()}`);
      const deadline = Date.now() + 8000;
      while ((await json("GET", `${simUrl}/control/sent`)).length === before && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 200));
      const sent = (await json("GET", `${simUrl}/control/sent`)).length;
      assert(sent > before, "the reply did not reach the simulator with the account's token");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("German section", `return document.querySelector('[data-testid=business-accounts] h3')?.textContent === 'Business-Konten' && ${row}.querySelector('[data-testid=account-token]').textContent === 'Eigenes'`, { timeout: 5000 });
      await shot(s, "admin-business-accounts-de");
      console.log(`     sends the simulator accepted: ${before} before, ${sent} after the account's own token`);
    });

    await test("exports: everything from the admin console as JSON Lines, one customer's data (with their files) from the customer panel as a zip, in Downloads", async () => {
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
      await s.click("[data-testid=admin-tab-audit]");
      await s.click("[data-testid=export-all]");
      const all = await s.waitFor("everything saved", `return document.querySelector('[data-testid=export-all-saved]')?.getAttribute('title')`, { timeout: 15000 });
      const rows = fs.readFileSync(all, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const kinds = new Set(rows.map((r) => r.kind));
      for (const k of ["contact", "conversation", "message", "note"]) assert(kinds.has(k), `no ${k} line in ${all}: ${[...kinds]}`);
      await shot(s, "export-everything");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("the German export", `return document.querySelector('[data-testid=export-all]')?.textContent === 'Alles exportieren (JSON Lines)'`, { timeout: 5000 });
      await shot(s, "export-everything-de");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
      await s.click("[data-testid=close-admin]");
      await s.exec(`[...document.querySelectorAll('[data-testid=conversation]')].find(r => r.textContent.includes('Erika Muster')).click()`);
      await s.waitFor("the customer panel's export", `return !!document.querySelector('[data-testid=export-customer]')`, { timeout: 5000 });
      await s.click("[data-testid=export-customer]");
      const one = await s.waitFor("the customer's data saved", `return document.querySelector('[data-testid=export-customer-saved]')?.getAttribute('title')`, { timeout: 15000 });
      assert(one.endsWith(".zip"), `the customer's export is a zip: ${one}`);
      const listed = spawnSync("unzip", ["-Z1", one], { encoding: "utf8" });
      assert(listed.status === 0 && /export\.jsonl/.test(listed.stdout) && /messages\.csv/.test(listed.stdout), `the zip holds ${listed.stdout} ${listed.stderr}`);
      const mine = spawnSync("unzip", ["-p", one, "export.jsonl"], { encoding: "utf8" }).stdout.trim().split("\n").map((l) => JSON.parse(l));
      const contact = mine.find((r) => r.kind === "contact");
      assert(contact && contact.wa_id === "4915112345678", `the customer: ${JSON.stringify(contact)}`);
      assert(mine.filter((r) => r.kind === "contact").length === 1, "only this customer");
      assert(mine.some((r) => r.kind === "message" && r.text === "Ja, gern."), "her messages");
      await shot(s, "export-customer");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "de");
      await s.click("[data-testid=settings-close]");
      await s.waitFor("the German export button", `return document.querySelector('[data-testid=export-customer]')?.textContent === 'Daten dieses Kunden exportieren' && /Gespeichert als/.test(document.querySelector('[data-testid=export-customer-saved]')?.textContent ?? '')`, { timeout: 5000 });
      await shot(s, "export-customer-de");
      await s.click("[data-testid=settings]");
      await choose(s, "[data-testid=language]", "en");
      await s.click("[data-testid=settings-close]");
      console.log(`     ${rows.length} lines in everything, ${mine.length} for Erika`);
    });

    await test("data governance: a number's retention, a legal hold that refuses the erasure, and the erasure emptying the app (English and German)", async () => {
      const lang = async (l) => {
        await s.click("[data-testid=settings]");
        await choose(s, "[data-testid=language]", l);
        await s.click("[data-testid=settings-close]");
      };
      const ada = await json("POST", `${relayUrl}/api/v1/auth/login`, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      const relayGet = async (p) => (await fetch(`${relayUrl}${p}`, { headers: { authorization: `Bearer ${ada.token}` } })).json();
      await s.click("[data-testid=open-admin]");
      await s.click("[data-testid=admin-tab-data]");
      const row = `[data-testid=retention-row][data-id="${PNID}"]`;
      await s.waitFor("the number's retention", `return !!document.querySelector(arguments[0])`, { args: [row], timeout: 10000 });
      // Too short: refused beside the field, nothing changes.
      await choose(s, `${row} [data-testid=retention-choice]`, "custom");
      await s.waitFor("the days field", `return !!document.querySelector(arguments[0])`, { args: [`${row} [data-testid=retention-days]`] });
      await fill(`${row} [data-testid=retention-days]`, "30");
      await s.click(`${row} [data-testid=retention-save]`);
      await s.waitFor("the refusal", `return /90 days/.test(document.querySelector(arguments[0])?.textContent ?? '')`, { args: [`${row} [data-testid=retention-error]`] });
      let kept = (await relayGet("/api/v1/admin/retention")).find((r) => r.phone_number_id === PNID);
      assert(kept.days === null, `the refused retention changed the relay: ${JSON.stringify(kept)}`);
      await choose(s, `${row} [data-testid=retention-choice]`, "365");
      await s.click(`${row} [data-testid=retention-save]`);
      await s.waitFor("one year", `return document.querySelector(arguments[0])?.dataset.days === '365'`, { args: [row], timeout: 10000 });
      kept = (await relayGet("/api/v1/admin/retention")).find((r) => r.phone_number_id === PNID);
      assert(kept.days === 365, `the relay keeps ${JSON.stringify(kept)}`);
      await shot(s, "data-retention");
      await lang("de");
      await s.waitFor("the German tab", `return /1 Jahr/.test(document.querySelector(arguments[0] + ' [data-testid=retention-current]')?.textContent ?? '')`, { args: [row] });
      await shot(s, "data-retention-de");
      await lang("en");
      await s.click("[data-testid=close-admin]");

      // A customer to erase.
      await json("POST", `${simUrl}/control/customers/4915700000815/messages`, { text: "Bitte alles löschen 0815", name: "Xaver Löschmich" });
      await s.waitFor("Xaver's conversation", `return [...document.querySelectorAll('[data-testid=conversation]')].some(r => r.textContent.includes('Xaver'))`, { timeout: 10000 });
      await s.exec(`[...document.querySelectorAll('[data-testid=conversation]')].find(r => r.textContent.includes('Xaver')).click()`);
      await s.waitFor("the customer's data section", `return !!document.querySelector('[data-testid=customer-governance]')`, { timeout: 5000 });
      await s.click("[data-testid=hold-customer-button]");
      await s.waitFor("a reason is asked for", `return /reason/.test(document.querySelector('[data-testid=governance-error]')?.textContent ?? '')`);
      await fill("[data-testid=hold-reason]", "Az. 3 O 815/26");
      await s.click("[data-testid=hold-customer-button]");
      await s.waitFor("the hold", `return document.querySelector('[data-testid=customer-governance]')?.dataset.held === 'true' && document.querySelector('[data-testid=erase-customer]')?.disabled === true`, { timeout: 5000 });
      await shot(s, "customer-legal-hold");
      await lang("de");
      await s.waitFor("the German hold", `return /Legal Hold/.test(document.querySelector('[data-testid=hold-customer]')?.textContent ?? '')`);
      await shot(s, "customer-legal-hold-de");
      await lang("en");
      const holds = await relayGet("/api/v1/admin/legal-holds");
      assert(holds.some((h) => h.reason === "Az. 3 O 815/26"), `holds: ${JSON.stringify(holds)}`);
      await s.click("[data-testid=release-customer-hold]");
      await s.waitFor("the hold released", `return document.querySelector('[data-testid=customer-governance]')?.dataset.held === 'false' && document.querySelector('[data-testid=erase-customer]')?.disabled === false`, { timeout: 5000 });
      await s.click("[data-testid=erase-customer]");
      await fill("[data-testid=erase-word]", "ERASE");
      await s.waitFor("erasing allowed", `return document.querySelector('[data-testid=erase-go]')?.disabled === false`);
      await shot(s, "customer-erase");
      await lang("de");
      // The German word is another: what was typed no longer confirms.
      await s.waitFor("the German confirmation", `return /LÖSCHEN/.test(document.querySelector('[data-testid=erase-confirm]')?.textContent ?? '') && document.querySelector('[data-testid=erase-go]')?.disabled === true`);
      await fill("[data-testid=erase-word]", "löschen");
      await shot(s, "customer-erase-de");
      await s.click("[data-testid=erase-go]");
      await s.waitFor("Xaver gone from the app", `return ![...document.querySelectorAll('[data-testid=conversation]')].some(r => r.textContent.includes('Xaver'))`, { timeout: 10000 });
      await lang("en");
      const list = await relayGet("/api/v1/conversations?limit=500");
      assert(!list.items.some((c) => c.contact.wa_id === "4915700000815"), "the relay still has Xaver");
      const found = await s.exec(`return document.body.innerText.includes('Bitte alles löschen') || document.body.innerText.includes('Xaver')`);
      assert(!found, "the app still shows Xaver's text");
    });

  } finally {
    await s.end().catch(() => {});
    for (const c of children.reverse()) await stop(c);
  }
}

main()
  .catch((e) => {
    console.log(`FAIL setup: ${e.stack ?? e}`);
    results.push({ name: "setup", ok: false });
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    const passed = results.filter((r) => r.ok).length;
    const failed = results.length - passed;
    console.log(`desktop-e2e: ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });
