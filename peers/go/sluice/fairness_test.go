package sluice

import (
	"reflect"
	"testing"
)

// TestFairnessKeyVectors checks the key format against headers.json "fairness_key" (§15.3).
func TestFairnessKeyVectors(t *testing.T) {
	var doc struct {
		FairnessKey []struct {
			Name  string `json:"name"`
			Key   string `json:"key"`
			Valid bool   `json:"valid"`
		} `json:"fairness_key"`
	}
	load(t, "headers.json", &doc)
	if len(doc.FairnessKey) < 5 {
		t.Fatalf("only %d fairness_key cases", len(doc.FairnessKey))
	}
	for _, c := range doc.FairnessKey {
		if got := ValidFairnessKey(c.Key); got != c.Valid {
			t.Errorf("%s: ValidFairnessKey(%q) = %v, want %v", c.Name, c.Key, got, c.Valid)
		}
	}
}

// TestFairnessOrderVectors checks the grant order against credits.json "fairness" (§15.3).
func TestFairnessOrderVectors(t *testing.T) {
	var doc struct {
		Fairness []struct {
			Name     string         `json:"name"`
			Weights  map[string]int `json:"weights"`
			Arrivals []string       `json:"arrivals"`
			Grants   int            `json:"grants"`
			Order    []string       `json:"order"`
		} `json:"fairness"`
	}
	load(t, "credits.json", &doc)
	if len(doc.Fairness) < 3 {
		t.Fatalf("only %d fairness cases", len(doc.Fairness))
	}
	for _, c := range doc.Fairness {
		q := NewFairQueue[string](func(k string) int {
			if w, ok := c.Weights[k]; ok {
				return w
			}
			return 1
		})
		for _, k := range c.Arrivals {
			q.Add(k, k)
		}
		got := []string{}
		for i := 0; i < c.Grants; i++ {
			w, key, ok := q.Poll()
			if !ok {
				break
			}
			if w != key {
				t.Fatalf("%s: polled %q from lane %q", c.Name, w, key)
			}
			got = append(got, w)
		}
		if !reflect.DeepEqual(got, c.Order) {
			t.Errorf("%s: order %v, want %v", c.Name, got, c.Order)
		}
	}
}
