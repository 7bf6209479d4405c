package sluice

import "testing"

// The `debt` cases of credits.json (§5.5 [v1.3]): how much of a confirmed surplus is announced
// as a debt, when the surplus is fetched instead, and when a pending debt holds back a mint.
func TestDebtVectors(t *testing.T) {
	var doc struct {
		Debt []struct {
			Name         string `json:"name"`
			Debt         int64  `json:"debt"`
			Backlog      int64  `json:"backlog"`
			Owed         int64  `json:"owed"`
			Burn         int64  `json:"burn"`
			BurnedUnheld int64  `json:"burned_unheld"`
			Payable      int64  `json:"payable"`
			FetchAll     bool   `json:"fetch_all"`
			Announce     int64  `json:"announce"`
			MintBlocked  bool   `json:"mint_blocked"`
		} `json:"debt"`
	}
	load(t, "credits.json", &doc)
	if len(doc.Debt) == 0 {
		t.Fatal("no debt cases in credits.json")
	}
	for _, c := range doc.Debt {
		payable := DebtPayable(c.Backlog, c.Owed, c.Debt)
		if payable != c.Payable {
			t.Errorf("debt %q: payable %d want %d", c.Name, payable, c.Payable)
		}
		if (payable == 0) != c.FetchAll {
			t.Errorf("debt %q: fetch all %v want %v", c.Name, payable == 0, c.FetchAll)
		}
		if got := DebtAnnounced(c.Burn, c.BurnedUnheld, payable); got != c.Announce {
			t.Errorf("debt %q: announce %d want %d", c.Name, got, c.Announce)
		}
		if got := MintHeldBack(c.Debt, c.Backlog, c.Owed); got != c.MintBlocked {
			t.Errorf("debt %q: mint held back %v want %v", c.Name, got, c.MintBlocked)
		}
	}
}

// The reconciler's own advert missing, or older than ¾ of its ttl, makes its view stale (§5.5
// [v1.3]); exactly ¾ is still current.
func TestStaleViewAtThreeQuartersOfTheTTL(t *testing.T) {
	if !StaleView(nil, 10_000) {
		t.Error("a missing own advert is a current view")
	}
	own := &AdvertView{HeartbeatUnixMs: 10_000, TTLMs: 6_000}
	if StaleView(own, 14_500) {
		t.Error("an advert ¾ ttl old is stale")
	}
	if !StaleView(own, 14_501) {
		t.Error("an advert older than ¾ ttl is current")
	}
}

// What an audit leaves for the next one to compare against (§5.5).
func TestNextPrevious(t *testing.T) {
	cases := []struct{ minted, burned, announced, d, want int64 }{
		{0, 0, 0, -50, -50},    // nothing done: the reading stands
		{0, 0, 0, 30, 30},      // an unconfirmed deficit
		{30, 0, 0, 30, 0},      // minted: two fresh audits again
		{0, 40, 0, -100, 0},    // burned by fetching alone: two fresh audits again
		{0, 40, 20, -100, -40}, // announced: what is left
		{0, 40, 60, -100, 0},   // announced the whole rest
	}
	for _, c := range cases {
		if got := NextPrevious(c.minted, c.burned, c.announced, c.d); got != c.want {
			t.Errorf("NextPrevious(%d, %d, %d, %d) = %d want %d", c.minted, c.burned, c.announced, c.d, got, c.want)
		}
	}
}
