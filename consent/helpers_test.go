package consent_test

import (
	"testing"
	"time"
	_ "time/tzdata" // Europe/Istanbul on machines without a zoneinfo database

	"github.com/izin/izin/consent"
)

func istanbul(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func calendar(t testing.TB) *consent.Calendar {
	t.Helper()
	c, err := consent.NewCalendar(istanbul(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// at is a wall-clock time in Istanbul: at(t, "2026-06-01 10:00:00").
func at(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(consent.DateLayout, s, istanbul(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
