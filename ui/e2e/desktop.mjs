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

const results = [];
const children = [];

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
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

async function main() {
  for (const f of [app, path.join(bin, "switchboard-relay"), path.join(bin, "switchboard-sim")]) {
    assert(fs.existsSync(f), `${f} is missing: build it first (ui/e2e/run.sh does)`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sb-e2e-"));
  const [relayPort, simPort, driverPort, nativePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const relayUrl = `http://127.0.0.1:${relayPort}`;
  const simUrl = `http://127.0.0.1:${simPort}`;
  const relayEnv = {
    SWITCHBOARD_LISTEN: `127.0.0.1:${relayPort}`,
    SWITCHBOARD_DATA_DIR: path.join(tmp, "relay"),
    WA_APP_SECRET: SECRET,
    WA_VERIFY_TOKEN: "e2e-verify",
    WA_ACCESS_TOKEN: TOKEN,
    WA_GRAPH_URL: simUrl,
  };
  const relayBin = path.join(bin, "switchboard-relay");
  const admin = (args, input) => {
    const r = spawnSync(relayBin, ["admin", ...args], { env: { ...process.env, ...relayEnv }, input, encoding: "utf8" });
    assert(r.status === 0, `relay admin ${args[0]} failed: ${r.stderr}`);
  };
  admin(["add-number", "--phone-number-id", PNID, "--display-phone-number", DISPLAY_NUMBER, "--name", "E2E Support", "--waba-id", WABA]);
  admin(["create-user", "--email", EMAIL, "--name", "Erin Agent", "--role", "agent", "--password-stdin"], PASSWORD);

  start("sim", path.join(bin, "switchboard-sim"), [
    "serve", "--listen", `127.0.0.1:${simPort}`, "--webhook-url", `${relayUrl}/webhooks/whatsapp`,
    "--app-secret", SECRET, "--access-token", TOKEN, "--phone-number-id", PNID, "--display-phone-number", DISPLAY_NUMBER,
    // Each delivery state stays for about half a second, as a person would see it.
    "--sent-delay-ms", "300", "--delivered-delay-ms", "900", "--read-delay-ms", "1500",
  ]);
  let relay = start("relay", relayBin, ["serve"], relayEnv);
  await waitHttp(`${relayUrl}/healthz`);
  await waitHttp(`${simUrl}/control/stats`);

  start("tauri-driver", process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", String(driverPort), "--native-port", String(nativePort)], {
    SWITCHBOARD_HOME: path.join(tmp, "app"),
    SWITCHBOARD_LOG: "info,switchboard_desktop=debug",
    SWITCHBOARD_LOG_FILE: path.join(art, "logs", "app.log"),
  });
  await waitHttp(`http://127.0.0.1:${driverPort}/status`);
  const s = await Session.start(`http://127.0.0.1:${driverPort}`, app);

  try {
    await test("window title contains Switchboard", async () => {
      const title = await s.title();
      assert(/Switchboard/.test(title), `title is ${JSON.stringify(title)}`);
    });

    await test("first run: relay URL, then email and password; the token goes to the keychain", async () => {
      await s.waitFor("the relay URL field", `return !!document.querySelector('[data-testid=relay-url]')`);
      await s.type("[data-testid=relay-url]", relayUrl);
      await s.click("[data-testid=next]");
      await s.waitFor("the email field", `return !!document.querySelector('[data-testid=email]')`);
      await s.type("[data-testid=email]", EMAIL);
      await s.type("[data-testid=password]", PASSWORD);
      await s.click("[data-testid=sign-in]");
      await s.waitFor("connection state online", `const e = document.querySelector('[data-testid=connection-state]'); return e && e.dataset.state === 'online'`, { timeout: 15000 });
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
