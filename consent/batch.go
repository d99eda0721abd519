package consent

// MaxBatch is İYS's limit of items in one batch upload (H125).
const MaxBatch = 1000

// DuplicatesInBatch marks items whose consent key already appeared earlier
// in the same batch: H193 when the item repeats an earlier one exactly,
// H194 when it asks something different of the same key (its outcome would
// depend on an order the provider cannot rely on). The first occurrence is
// kept. Items that failed parsing (nil in cmds) are skipped.
func DuplicatesInBatch(cmds []*Command) map[int]*Error {
	seen := make(map[Key]int, len(cmds))
	var errs map[int]*Error
	for i, c := range cmds {
		if c == nil {
			continue
		}
		j, dup := seen[c.Key]
		if !dup {
			seen[c.Key] = i
			continue
		}
		if errs == nil {
			errs = map[int]*Error{}
		}
		p := cmds[j]
		if p.Status == c.Status && p.Source == c.Source && p.ConsentDate.Equal(c.ConsentDate) {
			errs[i] = Errorf(CodeDuplicateInBatch, "recipient", "the same consent appears twice in this batch (first at index %d)", j)
		} else {
			errs[i] = Errorf(CodeDuplicateRecipient, "recipient", "this recipient and type already appear in this batch at index %d", j)
		}
	}
	return errs
}
