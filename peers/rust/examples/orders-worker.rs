//! The Rust worker of the orders example (`examples/orders.proto`): handles `examples.Order`
//! schema versions 1 and 2 (an upcaster fills currency "EUR" into version-1 orders), spends
//! `--service-ms` per order, prints one JSON line per processed order, and drains on SIGTERM.
//!
//! ```text
//! cargo build --release --example orders-worker
//! target/release/examples/orders-worker --server nats://127.0.0.1:4222 --queue orders --worker-id rust-1
//! ```

use clap::Parser;
use serde_json::json;
use sluice::{CodecError, Protobuf, Worker, WorkerEvent};
use std::io::Write;
use std::time::Duration;

/// Generated from examples/orders.proto by build.rs (prost-build).
pub mod orders {
    include!(concat!(env!("OUT_DIR"), "/sluice.examples.orders.rs"));
}

use orders::Order;

/// The payload type the Go producer sends.
const ORDER_TYPE: &str = "examples.Order";

#[derive(Parser)]
#[command(about = "Sluice orders example: a Rust worker for examples.Order v1-v2")]
struct Cli {
    /// NATS server URL.
    #[arg(long)]
    server: String,
    /// The Sluice queue (provisioned beforehand).
    #[arg(long)]
    queue: String,
    /// This worker's id, unique in the fleet.
    #[arg(long = "worker-id")]
    worker_id: String,
    /// Orders handled at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Simulated work per order, in milliseconds.
    #[arg(long = "service-ms", default_value_t = 0)]
    service_ms: u64,
}

fn print(line: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn sigterm() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Version 1 had no currency: its orders were all in euros.
fn upcast_v1(mut order: Order) -> Result<Order, CodecError> {
    if order.currency.is_empty() {
        order.currency = "EUR".into();
    }
    Ok(order)
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("orders-worker: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let client = async_nats::ConnectOptions::new()
        .name(format!("orders-worker-{}", cli.worker_id))
        .connect(&cli.server)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", cli.server))?;
    let service = Duration::from_millis(cli.service_ms);
    let worker = Worker::builder(client, cli.queue)
        .worker_id(cli.worker_id)
        .concurrency(cli.concurrency)
        .handle(
            ORDER_TYPE,
            1..=2,
            Protobuf::<Order>::new(),
            move |_order: Order, _ctx| async move {
                if !service.is_zero() {
                    tokio::time::sleep(service).await;
                }
                Ok(())
            },
        )
        .upcast(ORDER_TYPE, 1, upcast_v1)
        .on_event(|e| {
            if let WorkerEvent::Processed {
                msg_id, version, ..
            } = e
            {
                print(
                    json!({"event": "processed", "id": msg_id, "lang": "rust", "version": version}),
                );
            }
        })
        .build()
        .await?;
    let processed = worker.run_until(sigterm()).await?;
    print(json!({"event": "stopped", "processed": processed}));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_orders_are_in_euros() {
        let v1 = Order {
            order_id: "o-1".into(),
            customer: "ada".into(),
            lines: 2,
            total_cents: 1250,
            currency: String::new(),
        };
        assert_eq!(upcast_v1(v1).unwrap().currency, "EUR");
        let v2 = Order {
            currency: "USD".into(),
            ..Default::default()
        };
        assert_eq!(upcast_v1(v2).unwrap().currency, "USD");
    }
}
