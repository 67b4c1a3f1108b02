package checks

import "time"

// statusFor is the business status of a finding due at due, the one rule
// every check uses: overdue once the deadline has passed, else awaiting
// review. Data-gap findings set their status themselves.
func (r *run) statusFor(due time.Time) string {
	if due.Before(r.asOf) {
		return StatusOverdue
	}
	return StatusAwaitingReview
}
