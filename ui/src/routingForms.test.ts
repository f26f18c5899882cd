import { describe, expect, it } from "vitest";
import { capacityError, hoursForm, hoursRefusalField, lastSeq, parseDay, parseList, sortAlerts, validateHours, validateRate, validateSettings } from "./routingForms";
import type { Alert } from "./types";

describe("routing forms", () => {
  it("parses lists without blanks or repeats", () => {
    expect(parseList(" de, en ,,de\nvip ")).toEqual(["de", "en", "vip"]);
    expect(parseList("")).toEqual([]);
  });

  it("checks routing settings as the relay does", () => {
    expect(validateSettings({ grace: "60", alert: "120", overdue: "600" }).value).toEqual({ grace_period_s: 60, alert_after_s: 120, overdue_after_s: 600 });
    const bad = validateSettings({ grace: "-1", alert: "0", overdue: "x" });
    expect(Object.keys(bad.errors).sort()).toEqual(["alert", "grace", "overdue"]);
    expect(bad.value).toBeUndefined();
    expect(validateSettings({ grace: "0", alert: "300", overdue: "200" }).errors.overdue).toEqual({ key: "overdueAfterAlert" });
  });

  it("bounds capacity and the send rate", () => {
    expect(capacityError("6")).toBeNull();
    expect(capacityError("1001")).not.toBeNull();
    expect(capacityError("2.5")).not.toBeNull();
    const cur = { per_minute: 80, burst: 5, pair_interval_ms: 6000, pair_burst: 1 };
    expect(validateRate({ perMinute: "100", burst: "10" }, cur).value).toEqual({ ...cur, per_minute: 100, burst: 10 });
    expect(validateRate({ perMinute: "500", burst: "0" }, cur).errors).toEqual({
      perMinute: { key: "between", vars: { min: 20, max: 120 } },
      burst: { key: "between", vars: { min: 1, max: 120 } },
    });
  });

  it("reads opening hours typed as text", () => {
    expect(parseDay("09:00-12:00, 13:00 – 17:30")).toEqual({ intervals: [["09:00", "12:00"], ["13:00", "17:30"]] });
    expect(parseDay("")).toEqual({ intervals: [] });
    expect(parseDay("18:00-24:00")).toEqual({ intervals: [["18:00", "24:00"]] });
    expect(parseDay("9-17")).toEqual({ error: { key: "hoursFormat" } });
    expect(parseDay("17:00-09:00")).toEqual({ error: { key: "hoursOrder", vars: { from: "17:00", to: "09:00" } } });
  });

  it("keeps what the hours form does not show and names the refused day", () => {
    const stored = { ...validateHours(hoursForm(null), null).value!, away_message: { de: "Wir sind {next_open} zurück" }, closed_dates: ["2026-12-24"] };
    expect(stored.weekly.mon).toEqual([["09:00", "17:00"]]);
    expect(stored.weekly.sat).toBeUndefined();
    const f = { ...hoursForm(stored), tue: "10:00-16:00" };
    const v = validateHours(f, stored).value!;
    expect(v.weekly.tue).toEqual([["10:00", "16:00"]]);
    expect(v.away_message).toEqual({ de: "Wir sind {next_open} zurück" });
    expect(v.closed_dates).toEqual(["2026-12-24"]);
    expect(validateHours({ ...f, timeZone: "Mars Base" }, stored).errors.timeZone).toBeDefined();
    expect(hoursRefusalField({ code: "invalid", message: 'weekly.wed: "25:00" is not a time like 09:00' })).toBe("wed");
    expect(hoursRefusalField({ code: "invalid", message: '"Mars/Base" is not an IANA time zone' })).toBe("timeZone");
  });

  it("lists alerts that still apply first", () => {
    const a = (seq: number, applies: boolean): Alert => ({ seq, kind: "waiting", conversation_id: seq, waiting_since: 0, at: 0, applies, seen: false });
    expect(sortAlerts([a(1, true), a(2, false), a(3, true)]).map((x) => x.seq)).toEqual([3, 1, 2]);
    expect(lastSeq([a(4, false), a(9, true)])).toBe(9);
    expect(lastSeq([])).toBe(0);
  });
});
