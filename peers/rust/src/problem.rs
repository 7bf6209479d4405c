//! `CapacityAdvert.problem` (PROTOCOL.md §5.2, revision 1.2): why a worker reports itself failing,
//! one `<code>: <text>` line per problem, empty when it does not. Informational only: no credit
//! computation reads it.

/// Dead-letter records cannot be written (§8.4).
pub const DLQ_UNWRITABLE: &str = "dlq-unwritable";
/// The idempotency store fails (§9).
pub const IDEMPOTENCY_STORE: &str = "idempotency-store";
/// The server refuses the worker's pull requests (§2.1).
pub const PULL_DENIED: &str = "pull-denied";
/// The worker cannot consume for another reason.
pub const NOT_CONSUMING: &str = "not-consuming";

/// Bytes of one line's text: a few lines stay under the spec's 2048 bytes.
const TEXT_MAX: usize = 600;

/// One line of the field: `"<code>: <text>"`, the text on one line and cut to at most 600 bytes
/// on a character boundary; empty when `text` is empty (no problem).
pub fn line(code: &str, text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let one_line = text
        .split(['\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut cut = one_line.len().min(TEXT_MAX);
    while !one_line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{code}: {}", &one_line[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_no_problem() {
        assert_eq!(line(DLQ_UNWRITABLE, ""), "");
    }

    #[test]
    fn one_line_with_its_code() {
        assert_eq!(
            line(DLQ_UNWRITABLE, "no\nresponders\r\nhere"),
            "dlq-unwritable: no responders here"
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let l = line(DLQ_UNWRITABLE, &"é".repeat(400)); // 800 bytes
        let text = l.strip_prefix("dlq-unwritable: ").unwrap();
        assert!(
            text.len() <= TEXT_MAX && text.len() >= TEXT_MAX - 1,
            "{}",
            text.len()
        );
    }
}
