package consent

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"time"
)

//go:embed holidays_tr.txt
var holidaysTR string

// fixedHolidays are the same date every year (Law 2429). 28 October, the
// eve of Republic Day, is a half day.
var fixedHolidays = []struct {
	month time.Month
	day   int
	half  bool
}{
	{time.January, 1, false}, {time.April, 23, false}, {time.May, 1, false},
	{time.May, 19, false}, {time.July, 15, false}, {time.August, 30, false},
	{time.October, 28, true}, {time.October, 29, false},
}

// Calendar answers business-day questions in one time zone. The law's
// "3 business days" exclude weekends and public holidays; an eve (half
// day) counts as a business day, as offices are open that morning.
type Calendar struct {
	loc     *time.Location
	full    map[string]bool
	half    map[string]bool
	years   map[int]bool // years with their moving holidays listed
	minYear int
}

// NewCalendar builds the Turkish calendar in loc from the embedded list.
func NewCalendar(loc *time.Location) (*Calendar, error) {
	return ParseCalendar(loc, holidaysTR)
}

// ParseCalendar builds a calendar from a list in the holidays_tr.txt format.
func ParseCalendar(loc *time.Location, list string) (*Calendar, error) {
	c := &Calendar{loc: loc, full: map[string]bool{}, half: map[string]bool{}, years: map[int]bool{}}
	sc := bufio.NewScanner(strings.NewReader(list))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("holiday list line %d: want \"YYYY-MM-DD full|half name\"", n)
		}
		d, err := time.Parse("2006-01-02", f[0])
		if err != nil {
			return nil, fmt.Errorf("holiday list line %d: %w", n, err)
		}
		switch f[1] {
		case "full":
			c.full[f[0]] = true
		case "half":
			c.half[f[0]] = true
		default:
			return nil, fmt.Errorf("holiday list line %d: %q is neither full nor half", n, f[1])
		}
		c.years[d.Year()] = true
		if c.minYear == 0 || d.Year() < c.minYear {
			c.minYear = d.Year()
		}
	}
	return c, sc.Err()
}

// Covers reports whether the moving holidays of year are listed.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

// Warning returns a sentence for operators when next year's moving holidays
// are missing (business-day deadlines would then be too short), else "".
func (c *Calendar) Warning(now time.Time) string {
	y := now.In(c.loc).Year()
	for _, yy := range []int{y, y + 1} {
		if !c.Covers(yy) {
			return fmt.Sprintf("the holiday calendar has no religious holidays for %d: add them to consent/holidays_tr.txt", yy)
		}
	}
	return ""
}

// IsHoliday reports whether the day of t is a full public holiday.
func (c *Calendar) IsHoliday(t time.Time) bool {
	t = t.In(c.loc)
	if c.full[t.Format("2006-01-02")] {
		return true
	}
	for _, h := range fixedHolidays {
		if !h.half && t.Month() == h.month && t.Day() == h.day {
			return true
		}
	}
	return false
}

// IsBusinessDay reports whether the day of t is neither a weekend nor a
// full public holiday.
func (c *Calendar) IsBusinessDay(t time.Time) bool {
	t = t.In(c.loc)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !c.IsHoliday(t)
}

// AddBusinessDays returns the end (23:59:59.999999999) of the n-th business
// day after the day of t. With n = 3 it is the last moment at which a
// consent obtained at t may still be registered.
func (c *Calendar) AddBusinessDays(t time.Time, n int) time.Time {
	d := StartOfDay(t, c.loc)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsBusinessDay(d) {
			n--
		}
	}
	return EndOfDay(d, c.loc)
}

// StartOfDay is midnight at the start of t's day in loc.
func StartOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// EndOfDay is the last instant of t's day in loc: the deadline of a
// same-day confirmation.
func EndOfDay(t time.Time, loc *time.Location) time.Time {
	return StartOfDay(t, loc).AddDate(0, 0, 1).Add(-time.Nanosecond)
}
