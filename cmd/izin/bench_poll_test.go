package main

import (
	"slices"
	"testing"
	"time"
)

func TestGapRanges(t *testing.T) {
	now := time.Now()
	gaps := map[int64]time.Time{}
	for _, id := range []int64{9, 3, 4, 5, 12, 10, 1} {
		gaps[id] = now
	}
	lo, hi := gapRanges(gaps)
	if want := []int64{1, 3, 9, 12}; !slices.Equal(lo, want) {
		t.Errorf("lo = %v, want %v", lo, want)
	}
	if want := []int64{1, 5, 10, 12}; !slices.Equal(hi, want) {
		t.Errorf("hi = %v, want %v", hi, want)
	}
	if lo, hi := gapRanges(nil); lo != nil || hi != nil {
		t.Errorf("no gaps: %v %v", lo, hi)
	}
}
