//! Business hours: weekly opening hours in an IANA time zone, closed dates and exceptions, the
//! next opening time, and the away message that states it in the customer's language.
//!
//! Pure: every function takes `now` (Unix ms). Local times are resolved with `chrono-tz`, so
//! daylight-saving switches come out right: an opening at 09:00 is 08:00 UTC in winter and 07:00 UTC
//! in summer, a local time that does not exist (the spring-forward gap) opens at the first instant
//! after the gap, and an ambiguous one (autumn) at its first occurrence.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub use switchboard_protocol::policy::{BusinessHours, Exception, Interval};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Opening intervals of a day; an end of `None` is midnight (`24:00`).
type Day = Vec<(NaiveTime, Option<NaiveTime>)>;

/// The validated, parsed form.
#[derive(Debug, Clone)]
pub struct Hours {
    pub tz: Tz,
    weekly: [Day; 7],
    closed: Vec<NaiveDate>,
    exceptions: Vec<(NaiveDate, Day)>,
    pub settings: BusinessHours,
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

/// `to` of `None` means midnight at the end of the day (`24:00`).
fn parse_interval(i: &Interval) -> Result<(NaiveTime, Option<NaiveTime>), String> {
    let from = parse_time(&i[0]).ok_or_else(|| format!("{:?} is not a time like 09:00", i[0]))?;
    let to = if i[1].trim() == "24:00" {
        None
    } else {
        Some(parse_time(&i[1]).ok_or_else(|| format!("{:?} is not a time like 17:30", i[1]))?)
    };
    if to.is_some_and(|t| t <= from) {
        return Err(format!(
            "{} to {}: the end must be after the start",
            i[0], i[1]
        ));
    }
    Ok((from, to))
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date like 2026-12-24"))
}

impl Hours {
    pub fn parse(settings: BusinessHours) -> Result<Hours, String> {
        let tz: Tz = settings
            .time_zone
            .parse()
            .map_err(|_| format!("{:?} is not an IANA time zone", settings.time_zone))?;
        let mut weekly: [Vec<_>; 7] = Default::default();
        for (day, intervals) in &settings.weekly {
            let i = DAYS
                .iter()
                .position(|d| d == day)
                .ok_or_else(|| format!("weekly: {day:?} is not one of mon..sun"))?;
            for iv in intervals {
                weekly[i].push(parse_interval(iv).map_err(|e| format!("weekly.{day}: {e}"))?);
            }
            weekly[i].sort();
        }
        let closed = settings
            .closed_dates
            .iter()
            .map(|d| parse_date(d))
            .collect::<Result<Vec<_>, _>>()?;
        let mut exceptions = Vec::new();
        for e in &settings.exceptions {
            let d = parse_date(&e.date)?;
            let mut ivs = e
                .open
                .iter()
                .map(parse_interval)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| format!("exception {}: {m}", e.date))?;
            ivs.sort();
            exceptions.push((d, ivs));
        }
        if settings.away_period_minutes < 1 {
            return Err("away_period_minutes must be at least 1".into());
        }
        if settings.default_language != "de" && settings.default_language != "en" {
            return Err("default_language must be de or en".into());
        }
        Ok(Hours {
            tz,
            weekly,
            closed,
            exceptions,
            settings,
        })
    }

    /// The opening intervals of a local date.
    fn intervals(&self, date: NaiveDate) -> &[(NaiveTime, Option<NaiveTime>)] {
        if let Some((_, ivs)) = self.exceptions.iter().find(|(d, _)| *d == date) {
            return ivs;
        }
        if self.closed.contains(&date) {
            return &[];
        }
        &self.weekly[date.weekday().num_days_from_monday() as usize]
    }

    /// The UTC instant of a local date and time (DST-aware, see the module doc).
    fn instant(&self, date: NaiveDate, time: Option<NaiveTime>) -> DateTime<Utc> {
        let naive = match time {
            Some(t) => date.and_time(t),
            None => (date + Duration::days(1)).and_time(NaiveTime::MIN),
        };
        let mut probe = naive;
        loop {
            match self.tz.from_local_datetime(&probe) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
                // In a spring-forward gap: the first minute that exists.
                LocalResult::None => probe += Duration::minutes(1),
            }
        }
    }

    /// Whether the business is open at `now_ms`.
    pub fn is_open(&self, now_ms: i64) -> bool {
        let now = utc(now_ms);
        let local_date = now.with_timezone(&self.tz).date_naive();
        // An interval of yesterday cannot reach into today (intervals end by 24:00), so today's
        // intervals decide.
        self.intervals(local_date).iter().any(|(from, to)| {
            let a = self.instant(local_date, Some(*from));
            let b = self.instant(local_date, *to);
            a <= now && now < b
        })
    }

    /// The next time the business opens after `now_ms` (now if open), within a year.
    pub fn next_opening(&self, now_ms: i64) -> Option<DateTime<Tz>> {
        let now = utc(now_ms);
        let today = now.with_timezone(&self.tz).date_naive();
        for offset in 0..=366 {
            let date = today + Duration::days(offset);
            for (from, to) in self.intervals(date) {
                let a = self.instant(date, Some(*from));
                let b = self.instant(date, *to);
                if now < b {
                    return Some(a.max(now).with_timezone(&self.tz));
                }
            }
        }
        None
    }

    /// The away message for a customer writing at `now_ms` in `lang`, or `None` when open.
    pub fn away_text(&self, now_ms: i64, lang: &str) -> Option<String> {
        if !self.settings.enabled || self.is_open(now_ms) {
            return None;
        }
        let lang = if lang == "de" || lang == "en" {
            lang
        } else {
            self.settings.default_language.as_str()
        };
        let next = self
            .next_opening(now_ms)
            .map(|t| describe_next(&t, &utc(now_ms).with_timezone(&self.tz), lang));
        let template = self
            .settings
            .away_message
            .get(lang)
            .cloned()
            .unwrap_or_else(|| default_away(lang, next.is_some()).to_string());
        Some(match next {
            Some(n) => template.replace("{next_open}", &n),
            None => template.replace("{next_open}", if lang == "de" { "bald" } else { "soon" }),
        })
    }
}

fn utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn default_away(lang: &str, known: bool) -> &'static str {
    match (lang, known) {
        ("de", true) => "Vielen Dank für Ihre Nachricht! Wir sind gerade nicht erreichbar. Sie erhalten {next_open} eine Antwort.",
        ("de", false) => "Vielen Dank für Ihre Nachricht! Wir sind gerade nicht erreichbar und melden uns so bald wie möglich.",
        (_, true) => "Thank you for your message! We are closed right now. You will hear back from us {next_open}.",
        (_, false) => "Thank you for your message! We are closed right now and will get back to you as soon as we can.",
    }
}

const DE_DAYS: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];
const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const DE_MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `heute ab 14:00 Uhr`, `morgen ab 9:00 Uhr`, `am Montag, 30. März ab 9:00 Uhr`; English:
/// `today from 14:00`, `tomorrow from 9:00`, `on Monday, 30 March from 9:00`.
pub fn describe_next(next: &DateTime<Tz>, now: &DateTime<Tz>, lang: &str) -> String {
    let days = (next.date_naive() - now.date_naive()).num_days();
    let time = next.format("%-H:%M").to_string();
    let wd = next.weekday().num_days_from_monday() as usize;
    let month = next.month0() as usize;
    match lang {
        "de" => match days {
            0 => format!("heute ab {time} Uhr"),
            1 => format!("morgen ab {time} Uhr"),
            _ => format!(
                "am {}, {}. {} ab {time} Uhr",
                DE_DAYS[wd],
                next.day(),
                DE_MONTHS[month]
            ),
        },
        _ => match days {
            0 => format!("today from {time}"),
            1 => format!("tomorrow from {time}"),
            _ => format!(
                "on {}, {} {} from {time}",
                EN_DAYS[wd],
                next.day(),
                EN_MONTHS[month]
            ),
        },
    }
}

/// The customer's language, as well as it can be told: German-speaking country codes and German
/// text say `de`; otherwise the number's default.
pub fn customer_language(wa_id: Option<&str>, text: &str, default: &str) -> String {
    if let Some(w) = wa_id {
        let w = w.trim_start_matches('+');
        if ["49", "43", "41", "423"].iter().any(|p| w.starts_with(p)) {
            return "de".into();
        }
    }
    let lower = text.to_lowercase();
    let german = [
        "ä", "ö", "ü", "ß", "hallo", "bitte", "danke", "ich ", "wann", "wo ist", "ihr ", "sie ",
    ];
    if german.iter().any(|w| lower.contains(w)) {
        return "de".into();
    }
    let english = ["hello", "please", "thanks", "when ", "where", "you", "my "];
    if english.iter().any(|w| lower.contains(w)) {
        return "en".into();
    }
    default.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> Hours {
        let mut weekly = std::collections::BTreeMap::new();
        for d in ["mon", "tue", "wed", "thu", "fri"] {
            weekly.insert(
                d.to_string(),
                vec![
                    ["09:00".to_string(), "12:30".to_string()],
                    ["13:30".to_string(), "18:00".to_string()],
                ],
            );
        }
        weekly.insert("sat".into(), vec![["10:00".into(), "14:00".into()]]);
        Hours::parse(BusinessHours {
            time_zone: "Europe/Berlin".into(),
            weekly,
            closed_dates: vec!["2026-12-25".into()],
            exceptions: vec![Exception {
                date: "2026-12-24".into(),
                open: vec![["09:00".into(), "12:00".into()]],
            }],
            away_message: Default::default(),
            away_period_minutes: 720,
            default_language: "de".into(),
            enabled: true,
        })
        .unwrap()
    }

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn next_utc(h: &Hours, at: &str) -> String {
        h.next_opening(ms(at))
            .unwrap()
            .with_timezone(&Utc)
            .to_rfc3339()
    }

    #[test]
    fn open_and_closed_case_table() {
        let h = hours();
        let cases: &[(&str, bool)] = &[
            ("2026-03-04T08:00:00Z", true),  // Wed 09:00 CET
            ("2026-03-04T07:59:59Z", false), // Wed 08:59:59 CET
            ("2026-03-04T11:45:00Z", false), // lunch 12:45 CET
            ("2026-03-04T16:59:59Z", true),  // 17:59:59 CET
            ("2026-03-04T17:00:00Z", false), // 18:00 CET
            ("2026-03-08T10:00:00Z", false), // Sunday
            ("2026-03-07T09:30:00Z", true),  // Saturday 10:30
            ("2026-12-25T09:00:00Z", false), // Christmas (Friday) closed
            ("2026-12-24T10:00:00Z", true),  // Christmas Eve 11:00 (exception)
            ("2026-12-24T12:00:00Z", false), // Christmas Eve 13:00: exception ended
            // Summer time: 09:00 CEST is 07:00 UTC.
            ("2026-07-01T07:00:00Z", true),
            ("2026-07-01T06:59:00Z", false),
        ];
        for (at, open) in cases {
            assert_eq!(h.is_open(ms(at)), *open, "{at}");
        }
    }

    #[test]
    fn next_opening_across_dst_switches() {
        let h = hours();
        let cases: &[(&str, &str)] = &[
            // Saturday 28 March 2026, 15:00 CET; clocks go forward on Sunday 29 March 02:00.
            // Monday 09:00 is CEST = 07:00 UTC (not 08:00).
            ("2026-03-28T14:00:00Z", "2026-03-30T07:00:00+00:00"),
            // During the night of the switch itself.
            ("2026-03-29T00:30:00Z", "2026-03-30T07:00:00+00:00"),
            // Saturday 24 October 2026 15:00 CEST; back to CET on Sunday 25 October 03:00.
            // Monday 09:00 is CET = 08:00 UTC.
            ("2026-10-24T13:00:00Z", "2026-10-26T08:00:00+00:00"),
            ("2026-10-25T00:30:00Z", "2026-10-26T08:00:00+00:00"),
            // Friday evening to Saturday 10:00.
            ("2026-03-27T18:00:00Z", "2026-03-28T09:00:00+00:00"),
            // Lunch break: today 13:30 CET.
            ("2026-03-04T11:45:00Z", "2026-03-04T12:30:00+00:00"),
            // Open now: now.
            ("2026-03-04T08:00:00Z", "2026-03-04T08:00:00+00:00"),
            // Christmas Eve afternoon: closed 25th (holiday), 26th is Saturday 10:00 CET.
            ("2026-12-24T12:00:00Z", "2026-12-26T09:00:00+00:00"),
        ];
        for (at, want) in cases {
            assert_eq!(next_utc(&h, at), *want, "from {at}");
        }
    }

    #[test]
    fn opening_inside_the_spring_gap_starts_after_it() {
        let mut weekly = std::collections::BTreeMap::new();
        weekly.insert("sun".to_string(), vec![["02:30".into(), "05:00".into()]]);
        let h = Hours::parse(BusinessHours {
            time_zone: "Europe/Berlin".into(),
            weekly,
            closed_dates: vec![],
            exceptions: vec![],
            away_message: Default::default(),
            away_period_minutes: 60,
            default_language: "en".into(),
            enabled: true,
        })
        .unwrap();
        // 02:30 does not exist on 29 March 2026: opens at 03:00 CEST = 01:00 UTC.
        assert_eq!(
            next_utc(&h, "2026-03-28T20:00:00Z"),
            "2026-03-29T01:00:00+00:00"
        );
        // 25 October 2026: 02:30 happens twice; the first (CEST) counts: 00:30 UTC.
        assert_eq!(
            next_utc(&h, "2026-10-24T20:00:00Z"),
            "2026-10-25T00:30:00+00:00"
        );
        // The day is an hour longer: open until 05:00 CET = 04:00 UTC.
        assert!(h.is_open(ms("2026-10-25T03:59:00Z")));
        assert!(!h.is_open(ms("2026-10-25T04:00:00Z")));
    }

    #[test]
    fn away_text_in_german_and_english() {
        let h = hours();
        // Tuesday 3 March 2026, 22:00 CET.
        let night = ms("2026-03-03T21:00:00Z");
        assert_eq!(
            h.away_text(night, "de").unwrap(),
            "Vielen Dank für Ihre Nachricht! Wir sind gerade nicht erreichbar. Sie erhalten morgen ab 9:00 Uhr eine Antwort."
        );
        assert!(h
            .away_text(night, "en")
            .unwrap()
            .ends_with("You will hear back from us tomorrow from 9:00."));
        // Saturday 28 March 2026 15:00 CET -> Monday (after the DST switch) 9:00 local.
        let sat = ms("2026-03-28T14:00:00Z");
        assert!(h
            .away_text(sat, "de")
            .unwrap()
            .contains("am Montag, 30. März ab 9:00 Uhr"));
        assert!(h
            .away_text(sat, "en")
            .unwrap()
            .contains("on Monday, 30 March from 9:00"));
        // Early morning: today.
        assert!(h
            .away_text(ms("2026-03-04T05:00:00Z"), "de")
            .unwrap()
            .contains("heute ab 9:00 Uhr"));
        assert!(h.away_text(ms("2026-03-04T09:00:00Z"), "de").is_none());
    }

    #[test]
    fn validation_and_language() {
        let mut s = hours().settings;
        s.time_zone = "Mars/Olympus".into();
        assert!(Hours::parse(s).unwrap_err().contains("Mars/Olympus"));
        let mut s = hours().settings;
        s.weekly
            .insert("mon".into(), vec![["18:00".into(), "09:00".into()]]);
        assert!(Hours::parse(s).unwrap_err().contains("weekly.mon"));
        assert_eq!(customer_language(Some("4915112345678"), "hi", "en"), "de");
        assert_eq!(
            customer_language(Some("15551234567"), "Where is my order?", "de"),
            "en"
        );
        assert_eq!(
            customer_language(Some("15551234567"), "Wo ist meine Bestellung bitte", "en"),
            "de"
        );
        assert_eq!(customer_language(None, "ok", "en"), "en");
    }
}
