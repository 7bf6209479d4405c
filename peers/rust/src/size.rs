//! The largest message a work stream stores (PROTOCOL.md §2.2): the canonical header size (§8.4)
//! plus the payload must not exceed the stream's max message size nor the server's max payload.
//! A producer checks it before it reserves a credit.

use crate::dlq::header_size;

/// `Ok` when headers `h` plus a payload of `payload_len` bytes are stored; otherwise the error
/// names both sizes, the limit that binds and what to do. A limit ≤ 0 is none.
pub fn check(
    h: &[(String, String)],
    payload_len: u64,
    stream: &str,
    max_msg_size: i64,
    max_payload: i64,
) -> Result<(), String> {
    let bound = |v: i64| if v > 0 { v as u64 } else { u64::MAX };
    let (limit, which) = if bound(max_payload) < bound(max_msg_size) {
        (bound(max_payload), "max_payload of the server".to_string())
    } else {
        (
            bound(max_msg_size),
            format!("max_msg_size of stream {stream}"),
        )
    };
    let hs = header_size(h);
    if hs.saturating_add(payload_len) <= limit {
        return Ok(());
    }
    Err(format!(
        "message of {} bytes (headers {hs} + payload {payload_len}) exceeds the {which} ({limit} \
         bytes); it was not sent and no credit was spent: send a smaller payload or raise the \
         {which}",
        hs + payload_len
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Vec<(String, String)> {
        vec![("Nats-Msg-Id".into(), "m-1".into())] // 12 + 11 + 3 + 4 = 30 bytes
    }

    #[test]
    fn headers_and_payload_count_together_up_to_the_limit() {
        assert!(check(&headers(), 70, "SLUICE_Q_a", 100, 1 << 20).is_ok());
        let e = check(&headers(), 71, "SLUICE_Q_a", 100, 1 << 20).unwrap_err();
        assert!(
            e.contains("message of 101 bytes (headers 30 + payload 71) exceeds the max_msg_size of stream SLUICE_Q_a (100 bytes)"),
            "{e}"
        );
    }

    #[test]
    fn the_servers_max_payload_is_named_when_it_binds() {
        let e = check(&headers(), 21, "SLUICE_Q_a", -1, 50).unwrap_err();
        assert!(e.contains("max_payload of the server (50 bytes)"), "{e}");
        assert!(check(&headers(), 1 << 30, "SLUICE_Q_a", 0, 0).is_ok());
    }
}
