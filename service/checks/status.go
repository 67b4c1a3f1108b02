package checks

import "time"

// dueSoonWindow is how close a deadline must be to be "due soon".
const dueSoonWindow = 24 * time.Hour

// statusFor is the business status of a finding due at due, the one rule
// every check uses: overdue once the deadline has passed, due-soon when it
// falls within the next 24 hours, else awaiting review. Data-gap findings
// set their status themselves.
func (r *run) statusFor(due time.Time) string {
	switch {
	case due.Before(r.asOf):
		return StatusOverdue
	case !due.After(r.asOf.Add(dueSoonWindow)):
		return StatusDueSoon
	}
	return StatusAwaitingReview
}
