//! Decimal numbers written into a buffer or counted in place: a header value needs no
//! intermediate `String`, and a size needs none at all.

/// The number of decimal digits of `n`, its sign included.
pub fn len(n: i64) -> usize {
    let sign = usize::from(n < 0);
    let mut n = n.unsigned_abs();
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits + sign
}

/// Appends `n` in decimal.
pub fn push(out: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// Appends `n` in decimal, with a `-` when it is negative.
pub fn push_signed(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push(out, n.unsigned_abs());
}

/// `n` in decimal, in a buffer of its exact size.
pub fn string(n: i64) -> String {
    let mut s = String::with_capacity(len(n));
    push_signed(&mut s, n);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_to_string() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            12_345,
            -1,
            -10,
            i64::MAX,
            i64::MIN,
            1_764_000_000_123,
        ] {
            assert_eq!(string(n), n.to_string());
            assert_eq!(len(n), n.to_string().len());
        }
        let mut s = String::from("x-");
        push(&mut s, u64::MAX);
        assert_eq!(s, format!("x-{}", u64::MAX));
    }
}
