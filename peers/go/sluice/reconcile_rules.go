package sluice

// The reconciler rules of protocol revision 1.3 (§5.5), as pure functions of one audit's reading.
// They change no wire format: a reconciler of revision 1.2 interoperates, it just leaves an idle
// queue's debt unpaid until messages flow.

// DebtPayable is how much of a confirmed surplus may be announced as a debt (§5.5 [v1.3]):
// max(0, B + O − Σ debt). A worker pays a debt only by withholding the credits of messages it
// finishes, so no more is announced than is left to finish. At 0 (an idle queue) the reconciler
// announces nothing and fetches the surplus from the stream instead: the tokens lie there unheld.
// Rejected: announcing the whole rest (revision 1.1 and 1.2), which on an idle queue left the
// surplus tokens in the stream behind a debt nobody paid.
func DebtPayable(backlog, owed, debt int64) int64 {
	return max(0, backlog+owed-debt)
}

// DebtAnnounced is the debt an audit announces (§5.5 [v1.3]): what the amount to burn (burn)
// leaves after the tokens fetched at once (burned), no more than payable (DebtPayable).
func DebtAnnounced(burn, burned, payable int64) int64 {
	return max(0, min(burn-burned, payable))
}

// MintHeldBack reports whether a pending debt holds back the mint of a confirmed deficit (§5.5
// [v1.3]): while something is left to finish (B + O > 0), a debt being absorbed reads as a small
// deficit when adverts lag. With nothing left to finish the deficit is real (a debt larger than
// the surplus it was meant to burn) and is minted; the debt stays out of circulation and the first
// messages that finish pay it. Revision 1.2 held the mint back while B + T > 0, so an idle queue
// kept the deficit for as long as it stayed idle.
func MintHeldBack(debt, backlog, owed int64) bool {
	return debt > 0 && backlog+owed > 0
}

// StaleView reports whether the reconciler's view of the adverts cannot be trusted (§5.5 [v1.3]):
// its own worker's advert (own; nil when missing) is absent from it or older than three quarters
// of the advert's ttl (the worker rewrites it at least every ttl / 2, §5.2). No correction (mint,
// burn or announcement) is made from such a view, and previous_deficit is written as 0 so that the
// first audit on a current view is confirmed by a second.
func StaleView(own *AdvertView, nowMs int64) bool {
	if own == nil {
		return true
	}
	return nowMs-own.HeartbeatUnixMs > int64(own.TTLMs)*3/4
}

// NextPrevious is the previous_deficit an audit writes (§5.5): what is left of the surplus after
// an announcement (d + burned + announced, so that the rest of a growing surplus is announced at
// the next audit: the adverts then count the announced debt), 0 after a mint or a burn by fetching
// alone (a correction is confirmed by two fresh audits, never racing a worker's replenishment),
// else the deficit d itself.
func NextPrevious(minted, burned, announced, d int64) int64 {
	switch {
	case announced > 0:
		return min(0, d+burned+announced)
	case minted > 0 || burned > 0:
		return 0
	}
	return d
}
