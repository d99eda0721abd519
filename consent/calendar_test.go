package consent_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

func TestCalendarDays(t *testing.T) {
	cal := calendar(t)
	tests := []struct {
		name     string
		day      time.Time
		holiday  bool
		business bool
	}{
		{"new year", at(t, "2026-01-01 12:00:00"), true, false},
		{"national sovereignty day", at(t, "2026-04-23 12:00:00"), true, false},
		{"labour day", at(t, "2026-05-01 12:00:00"), true, false},
		{"youth day", at(t, "2026-05-19 12:00:00"), true, false},
		{"democracy day", at(t, "2026-07-15 12:00:00"), true, false},
		{"victory day on a sunday", at(t, "2026-08-30 12:00:00"), true, false},
		{"republic day eve is a half day", at(t, "2026-10-28 12:00:00"), false, true},
		{"republic day", at(t, "2026-10-29 12:00:00"), true, false},
		{"fixed holidays in an unlisted year", at(t, "2031-10-29 12:00:00"), true, false},
		{"ramazan eve 2026 is a half day", at(t, "2026-03-19 12:00:00"), false, true},
		{"ramazan 2026 first day", at(t, "2026-03-20 00:00:00"), true, false},
		{"ramazan 2026 second day", at(t, "2026-03-21 12:00:00"), true, false},
		{"ramazan 2026 last day", at(t, "2026-03-22 23:59:59"), true, false},
		{"after ramazan 2026", at(t, "2026-03-23 00:00:00"), false, true},
		{"kurban eve 2026 is a half day", at(t, "2026-05-26 23:59:59"), false, true},
		{"kurban 2026 first day", at(t, "2026-05-27 00:00:00"), true, false},
		{"kurban 2026 fourth day", at(t, "2026-05-30 12:00:00"), true, false},
		{"sunday after kurban 2026", at(t, "2026-05-31 12:00:00"), false, false},
		{"monday after kurban 2026", at(t, "2026-06-01 12:00:00"), false, true},
		{"plain saturday", at(t, "2026-06-06 12:00:00"), false, false},
		{"plain sunday", at(t, "2026-06-07 12:00:00"), false, false},
		{"plain monday", at(t, "2026-06-08 12:00:00"), false, true},
		{"new year's eve is a working day", at(t, "2026-12-31 12:00:00"), false, true},
		// The day is Istanbul's, whatever zone the time is given in.
		{"UTC evening before kurban is kurban in Istanbul", time.Date(2026, 5, 26, 21, 30, 0, 0, time.UTC), true, false},
		{"UTC evening of kurban's last day is sunday in Istanbul", time.Date(2026, 5, 30, 21, 0, 0, 0, time.UTC), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cal.IsHoliday(tt.day); got != tt.holiday {
				t.Errorf("IsHoliday(%s) = %v, want %v", tt.day, got, tt.holiday)
			}
			if got := cal.IsBusinessDay(tt.day); got != tt.business {
				t.Errorf("IsBusinessDay(%s) = %v, want %v", tt.day, got, tt.business)
			}
		})
	}
}

func TestAddBusinessDays(t *testing.T) {
	cal := calendar(t)
	tests := []struct {
		name string
		from time.Time
		n    int
		want string // the day whose end is returned, in Istanbul
	}{
		{"zero is the end of the same day", at(t, "2026-06-04 15:00:00"), 0, "2026-06-04"},
		{"one from a thursday", at(t, "2026-06-04 15:00:00"), 1, "2026-06-05"},
		{"three across a weekend", at(t, "2026-06-04 15:00:00"), 3, "2026-06-09"},
		{"one from a friday skips the weekend", at(t, "2026-06-05 09:00:00"), 1, "2026-06-08"},
		{"one from a saturday", at(t, "2026-06-06 09:00:00"), 1, "2026-06-08"},
		{"three across kurban 2026", at(t, "2026-05-22 10:00:00"), 3, "2026-06-01"},
		{"one from kurban eve", at(t, "2026-05-26 10:00:00"), 1, "2026-06-01"},
		{"the eve counts", at(t, "2026-05-25 10:00:00"), 1, "2026-05-26"},
		{"one from inside kurban", at(t, "2026-05-28 10:00:00"), 1, "2026-06-01"},
		{"across ramazan 2026", at(t, "2026-03-18 10:00:00"), 2, "2026-03-23"},
		{"across republic day, its eve counting", at(t, "2026-10-26 10:00:00"), 3, "2026-10-30"},
		{"across new year", at(t, "2026-12-31 10:00:00"), 1, "2027-01-04"},
		{"ten across kurban 2026", at(t, "2026-05-20 10:00:00"), 10, "2026-06-08"},
		{"late UTC evening is the next day in Istanbul", time.Date(2026, 6, 4, 22, 0, 0, 0, time.UTC), 1, "2026-06-08"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cal.AddBusinessDays(tt.from, tt.n)
			want := at(t, tt.want+" 23:59:59").Add(time.Second - time.Nanosecond)
			if !got.Equal(want) {
				t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tt.from, tt.n, got, want)
			}
		})
	}
}

func TestStartAndEndOfDay(t *testing.T) {
	loc := istanbul(t)
	tests := []struct {
		name       string
		t          time.Time
		start, end string // RFC 3339 in UTC
	}{
		{"noon", at(t, "2026-06-01 12:00:00"), "2026-05-31T21:00:00Z", "2026-06-01T20:59:59.999999999Z"},
		{"UTC late evening is the next day", time.Date(2026, 6, 1, 22, 0, 0, 0, time.UTC), "2026-06-01T21:00:00Z", "2026-06-02T20:59:59.999999999Z"},
		{"midnight", at(t, "2026-06-01 00:00:00"), "2026-05-31T21:00:00Z", "2026-06-01T20:59:59.999999999Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := consent.StartOfDay(tt.t, loc).UTC().Format(time.RFC3339Nano); got != tt.start {
				t.Errorf("StartOfDay = %s, want %s", got, tt.start)
			}
			if got := consent.EndOfDay(tt.t, loc).UTC().Format(time.RFC3339Nano); got != tt.end {
				t.Errorf("EndOfDay = %s, want %s", got, tt.end)
			}
		})
	}
}

func TestCalendarWarning(t *testing.T) {
	loc := istanbul(t)
	only2026, err := consent.ParseCalendar(loc, "2026-03-20 full Ramazan Bayramı\n")
	if err != nil {
		t.Fatal(err)
	}
	empty, err := consent.ParseCalendar(loc, "# nothing yet\n\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cal  *consent.Calendar
		now  time.Time
		want string // "" or the missing year the warning must name
	}{
		{"this year and next listed", calendar(t), at(t, "2026-06-01 12:00:00"), ""},
		{"next year missing", calendar(t), at(t, "2027-03-01 12:00:00"), "2028"},
		{"the year is Istanbul's", calendar(t), time.Date(2027, 12, 31, 21, 30, 0, 0, time.UTC), "2028"},
		{"still 2026 in Istanbul", calendar(t), time.Date(2026, 12, 31, 20, 30, 0, 0, time.UTC), ""},
		{"only this year listed", only2026, at(t, "2026-06-01 12:00:00"), "2027"},
		{"nothing listed", empty, at(t, "2026-06-01 12:00:00"), "2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cal.Warning(tt.now)
			if tt.want == "" {
				if got != "" {
					t.Errorf("Warning = %q, want none", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("Warning = %q, want one naming %s", got, tt.want)
			}
		})
	}
}

func TestParseCalendar(t *testing.T) {
	loc := istanbul(t)
	tests := []struct {
		name, list string
		ok         bool
	}{
		{"comments and blank lines", "# a comment\n\n   \n2028-01-20 full Test\n", true},
		{"name optional", "2028-01-20 half\n", true},
		{"no kind", "2028-01-20\n", false},
		{"unknown kind", "2028-01-20 quarter Test\n", false},
		{"bad date", "2028-13-01 full Test\n", false},
		{"day first", "20-01-2028 full Test\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := consent.ParseCalendar(loc, tt.list)
			if (err == nil) != tt.ok {
				t.Errorf("ParseCalendar(%q) error = %v, want ok %v", tt.list, err, tt.ok)
			}
		})
	}
	cal, err := consent.ParseCalendar(loc, "2028-01-19 half Eve\n2028-01-20 full Test\n")
	if err != nil {
		t.Fatal(err)
	}
	if !cal.Covers(2028) || cal.Covers(2027) {
		t.Errorf("Covers(2028), Covers(2027) = %v, %v; want true, false", cal.Covers(2028), cal.Covers(2027))
	}
	if d := at(t, "2028-01-20 12:00:00"); !cal.IsHoliday(d) || cal.IsBusinessDay(d) {
		t.Errorf("a listed full day is not a holiday")
	}
	if d := at(t, "2028-01-19 12:00:00"); cal.IsHoliday(d) || !cal.IsBusinessDay(d) {
		t.Errorf("a listed half day is not a business day")
	}
}

// TestHolidayList checks the embedded list's shape: every year has
// Ramazan Bayramı (an eve and 3 days) and Kurban Bayramı (an eve and 4
// days), each eve followed by its days without a gap.
func TestHolidayList(t *testing.T) {
	f, err := os.Open("holidays_tr.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type run struct {
		name string
		days int
	}
	runs := map[int][]run{}
	var last time.Time
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		d, err := time.Parse("2006-01-02", fs[0])
		if err != nil {
			t.Fatal(err)
		}
		y := d.Year()
		switch fs[1] {
		case "half":
			runs[y] = append(runs[y], run{name: strings.Join(fs[2:], " ")})
		case "full":
			if len(runs[y]) == 0 || !d.Equal(last.AddDate(0, 0, 1)) {
				t.Fatalf("%s: a holiday that does not follow its eve or the day before", fs[0])
			}
			runs[y][len(runs[y])-1].days++
		}
		last = d
	}
	if len(runs) == 0 {
		t.Fatal("no holidays listed")
	}
	for y, rs := range runs {
		if len(rs) != 2 || rs[0].days != 3 || rs[1].days != 4 ||
			!strings.HasPrefix(rs[0].name, "Ramazan") || !strings.HasPrefix(rs[1].name, "Kurban") {
			t.Errorf("%d: %+v, want Ramazan eve + 3 days, then Kurban eve + 4 days", y, rs)
		}
	}
}
