//! Scenarios: a load generator of pleasant customer chatter (German and English, with umlauts
//! and emoji so Meta's `\uXXXX` escaping is always exercised), used by the binary's
//! `--generate-rate`, the demo and benchmarks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::Rng;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::customer::{InboundContent, InboundSpec};
use crate::sim::Simulator;

/// Things customers say.
pub const TEXTS: &[&str] = &[
    "Hallo! Ist meine Bestellung schon unterwegs?",
    "Guten Morgen, kann ich den Liefertermin noch ändern?",
    "Vielen Dank für die schnelle Hilfe! 😊",
    "Wie lange habt ihr heute geöffnet?",
    "Ich möchte gern einen Termin für nächste Woche vereinbaren.",
    "Können Sie mir die Rechnung noch einmal schicken?",
    "Super, das hat geklappt. Schönen Tag noch! 🌞",
    "Gibt es die Jacke auch in Größe M?",
    "Hi! Could you tell me your opening hours on Saturday?",
    "Thanks so much, that was really helpful 🙏",
    "Is it possible to change the delivery address for order 4711?",
    "Good morning! I'd like to book a table for two tonight.",
    "The parcel arrived today, everything is perfect 👍",
    "Do you ship to Austria and Switzerland as well?",
    "Quick question: can I pay by invoice?",
    "Lovely, see you on Friday then!",
];

/// Captions of customer pictures.
pub const CAPTIONS: &[&str] = &[
    "So sieht das Paket aus 📦",
    "Hier ist der Kassenbon",
    "Photo of the damaged box",
    "Is this the right model?",
];

/// Profile names of generated customers.
pub const NAMES: &[&str] = &[
    "Anna Schmidt",
    "Lukas Müller",
    "Emma Wilson",
    "Jonas Weber",
    "Olivia Brown",
    "Leonie Fischer",
    "Noah Becker",
    "Mia Hoffmann",
    "Oliver Smith",
    "Sophie Wagner",
    "Jürgen Schäfer",
    "Charlotte Davies",
];

/// Generator settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeneratorConfig {
    /// Customer messages per second (all customers together).
    pub rate_per_sec: f64,
    /// How many distinct customers write.
    pub customers: u32,
    /// One message in this many is a picture (0 = never).
    pub image_every: u32,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            rate_per_sec: 1.0,
            customers: 10,
            image_every: 20,
        }
    }
}

/// A generated customer: German (`49151…`) and British (`447700…`) mobile numbers, each with a
/// BSUID; every tenth hides the phone number behind a username (2026).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCustomer {
    pub wa_id: String,
    pub name: String,
    pub user_id: String,
    /// Set for those who hide the phone number.
    pub username: Option<String>,
    pub hide_phone: bool,
}

/// The `i`-th generated customer (stable across runs).
pub fn generated_customer(i: u32) -> GeneratedCustomer {
    let (wa_id, country) = if i.is_multiple_of(2) {
        (format!("49151{:08}", 10_000_000 + i), "DE")
    } else {
        (format!("447700{:06}", 100_000 + i), "GB")
    };
    GeneratedCustomer {
        user_id: format!(
            "{country}.{:019}",
            7_300_000_000_000_000_000u64 + u64::from(i)
        ),
        name: NAMES[i as usize % NAMES.len()].to_string(),
        username: (i % 10 == 9).then(|| {
            let first = NAMES[i as usize % NAMES.len()]
                .split(' ')
                .next()
                .unwrap_or("kunde")
                .to_lowercase();
            format!("{first}.{i}")
        }),
        hide_phone: i % 10 == 9,
        wa_id,
    }
}

/// A running generator; stops when [`Generator::stop`] is called or the simulator shuts down.
#[derive(Debug)]
pub struct Generator {
    task: JoinHandle<()>,
    sent: Arc<AtomicU64>,
}

impl Generator {
    /// Starts writing `config.rate_per_sec` customer messages per second, spread over the
    /// simulator's business numbers.
    pub fn spawn(sim: &Simulator, config: GeneratorConfig) -> Generator {
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let sim = sim.clone();
        let task = tokio::spawn(async move {
            let rate = config.rate_per_sec.max(0.001);
            let customers = config.customers.max(1);
            let numbers: Vec<String> = sim
                .phone_numbers()
                .iter()
                .map(|n| n.phone_number_id.clone())
                .collect();
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
            let mut n: u64 = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = sim.shutdown_signal() => return,
                }
                let (spec, image) = {
                    let mut rng = rand::thread_rng();
                    let i = rng.gen_range(0..customers);
                    let c = generated_customer(i);
                    let image = config.image_every > 0
                        && n.is_multiple_of(u64::from(config.image_every))
                        && n > 0;
                    let content = if image {
                        InboundContent::Image {
                            caption: CAPTIONS.choose(&mut rng).map(|c| c.to_string()),
                        }
                    } else {
                        InboundContent::Text(TEXTS.choose(&mut rng).unwrap_or(&"Hallo").to_string())
                    };
                    (
                        InboundSpec {
                            wa_id: c.wa_id,
                            phone_number_id: Some(numbers[i as usize % numbers.len()].clone()),
                            name: Some(c.name),
                            user_id: Some(c.user_id),
                            username: c.username,
                            hide_phone: c.hide_phone,
                            content,
                        },
                        image,
                    )
                };
                n += 1;
                match sim.customer_writes(spec) {
                    Ok(_) => {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, image, "generator stopped");
                        return;
                    }
                }
            }
        });
        Generator { task, sent }
    }

    /// Messages written so far.
    pub fn messages_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops generating.
    pub fn stop(self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_customers_are_stable_and_distinct() {
        let a = generated_customer(0);
        let b = generated_customer(1);
        assert_eq!(a, generated_customer(0));
        assert!(
            a.wa_id.starts_with("49151") && a.wa_id.len() == 13,
            "{}",
            a.wa_id
        );
        assert!(
            b.wa_id.starts_with("447700") && b.wa_id.len() == 12,
            "{}",
            b.wa_id
        );
        assert!(a.user_id.starts_with("DE.") && b.user_id.starts_with("GB."));
        assert!(generated_customer(9).hide_phone);
        assert!(generated_customer(9).username.is_some());
        assert!(generated_customer(8).username.is_none());
        assert_ne!(a.user_id, b.user_id);
    }
}
