fn main() {
    eprintln!("sluice-peer-rust: not implemented yet");
    std::process::exit(2);
}
