// A minimal W3C WebDriver client over fetch (tauri-driver speaks plain WebDriver).
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, application) {
    const r = await req(base, "POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application } } },
    });
    return new Session(base, r.sessionId);
  }

  cmd(method, path, body) {
    return req(this.base, method, `/session/${this.id}${path}`, body);
  }
  end() {
    return this.cmd("DELETE", "");
  }
  title() {
    return this.cmd("GET", "/title");
  }
  exec(script, ...args) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }
  /** Runs an async script: it ends by calling its last argument with the result. */
  execAsync(script, ...args) {
    return this.cmd("POST", "/execute/async", { script, args });
  }
  async find(css) {
    const r = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return r[ELEMENT];
  }
  async click(css) {
    await this.cmd("POST", `/element/${await this.find(css)}/click`, {});
  }
  async type(css, text) {
    await this.cmd("POST", `/element/${await this.find(css)}/value`, { text });
  }
  screenshot() {
    return this.cmd("GET", "/screenshot");
  }

  /** Polls `script` in the page until it returns a truthy value; returns it. */
  async waitFor(what, script, { timeout = 10000, interval = 25, args = [] } = {}) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
      try {
        last = await this.exec(script, ...args);
        if (last) return last;
      } catch (e) {
        last = e;
      }
      await sleep(interval);
    }
    throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
  }
}

async function req(base, method, path, body) {
  const r = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(j.value ?? j)}`);
  return j.value;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
