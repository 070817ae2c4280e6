//! How long one Argon2id password hash takes with the configured cost (`ARGON2_*`, else
//! OWASP's defaults). Run in release mode, as Lambda runs it:
//!
//! ```sh
//! cargo run --release -p crm-core --example hash_timing            # 20 hashes
//! ARGON2_MEMORY_KIB=65536 cargo run --release -p crm-core --example hash_timing -- 50
//! ```
//!
//! Prints the median, minimum and maximum of the hashes and of the verifications.

use std::time::{Duration, Instant};

use crm_core::{Config, security::password::Passwords};

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20).max(1);
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let cost = config.password_hashing;
    let passwords = match Passwords::new(&cost) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut hashes = Vec::with_capacity(rounds);
    let mut verifies = Vec::with_capacity(rounds);
    let mut last = String::new();
    for i in 0..rounds {
        let started = Instant::now();
        last = passwords.hash(format!("correct horse battery {i}")).await.unwrap_or_default();
        hashes.push(started.elapsed());
        let started = Instant::now();
        let _ = passwords.verify(format!("correct horse battery {i}"), Some(last.clone())).await;
        verifies.push(started.elapsed());
    }
    println!(
        "argon2id m={} KiB t={} p={}: {} hashes, {}",
        cost.memory_kib,
        cost.iterations,
        cost.parallelism,
        rounds,
        last.split('$').take(4).collect::<Vec<_>>().join("$")
    );
    report("hash", &mut hashes);
    report("verify", &mut verifies);
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = times.len();
    let median = if n % 2 == 1 { ms(times[n / 2]) } else { (ms(times[n / 2 - 1]) + ms(times[n / 2])) / 2.0 };
    println!("{what}: median {median:.1} ms, min {:.1} ms, max {:.1} ms", ms(times[0]), ms(times[n - 1]));
}
