package sluice

import "testing"

func TestParsePubAck(t *testing.T) {
	cases := []struct {
		in      string
		seq     uint64
		dup, ok bool
	}{
		{`{"stream":"SLUICE_WORK_q","seq":42}`, 42, false, true},
		{`{"stream":"SLUICE_WORK_q","seq":7,"duplicate":true}`, 7, true, true},
		{`{"stream":"S","seq":18446744073709551615,"domain":"hub"}`, 18446744073709551615, false, true},
		{`{"stream":"S","seq":1,"duplicate":false}`, 1, false, true},
		// Not the usual shape: left to encoding/json.
		{`{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"S","seq":0}`, 0, false, false},
		{`{"stream":"","seq":1}`, 0, false, false},
		{`{"stream":"S","seq":}`, 0, false, false},
		{`{"stream":"S","seq":12`, 0, false, false},
		{`{"stream":"S","seq":99999999999999999999}`, 0, false, false},
		{`{"seq":1,"stream":"S"}`, 0, false, false},
		{`{"stream":"a\"b","seq":1}`, 0, false, false},
		{``, 0, false, false},
	}
	for _, c := range cases {
		seq, dup, ok := parsePubAck([]byte(c.in))
		if seq != c.seq || dup != c.dup || ok != c.ok {
			t.Errorf("parsePubAck(%s) = %d, %v, %v; want %d, %v, %v", c.in, seq, dup, ok, c.seq, c.dup, c.ok)
		}
	}
}
