// Package rules holds payer rule sets: what each payer requires, as data.
// Rule sets are YAML or JSON files, validated on load with errors that name
// the file, the field and the reason; custom checks in CEL are compiled once
// per rule-set version. Shipped rule sets and reference tables are embedded
// in the binary and can be overridden by a directory.
package rules

import (
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// Program is the kind of coverage a rule set describes.
type Program string

const (
	MedicareFFS       Program = "medicare-ffs"
	MedicareAdvantage Program = "medicare-advantage"
	Medicaid          Program = "medicaid"
	Commercial        Program = "commercial"
)

// ListInpatientOnly is the code list the two-midnight check reads for
// inpatient-only procedures (CMS OPPS Addendum E); a rule set that turns the
// check on must define it.
const ListInpatientOnly = "inpatient-only"

// Medicare reports whether beneficiaries of the program are Medicare
// beneficiaries (MOON and the Important Message apply to them).
func (p Program) Medicare() bool { return p == MedicareFFS || p == MedicareAdvantage }

// RuleSet is one payer's rules at one version.
type RuleSet struct {
	ID        string  `json:"id" yaml:"id"`
	Name      string  `json:"name" yaml:"name"`
	Version   string  `json:"version" yaml:"version"`
	Effective Period  `json:"effective" yaml:"effective"`
	Program   Program `json:"program" yaml:"program"`
	// Default marks the rule set used when no other matches the payer.
	Default bool `json:"default,omitempty" yaml:"default,omitempty"`
	// Illustrative marks a fictional payer shipped as an example.
	Illustrative bool     `json:"illustrative,omitempty" yaml:"illustrative,omitempty"`
	Note         string   `json:"note,omitempty" yaml:"note,omitempty"`
	Sources      []Source `json:"sources,omitempty" yaml:"sources,omitempty"`
	Match        Match    `json:"match" yaml:"match"`
	// Calendar names the holiday table used for business-day deadlines
	// (default us_federal_holidays.csv).
	CalendarTable string               `json:"calendar,omitempty" yaml:"calendar,omitempty"`
	Checks        Checks               `json:"checks" yaml:"checks"`
	CodeLists     map[string]*CodeList `json:"code_lists,omitempty" yaml:"code_lists,omitempty"`
	Custom        []*CustomCheck       `json:"custom,omitempty" yaml:"custom,omitempty"`

	// File is where the rule set was loaded from (set by the loader).
	File string `json:"-" yaml:"-"`
	// Tables are the reference tables this rule set refers to, resolved by the loader.
	Tables *Tables `json:"-" yaml:"-"`

	// Resolved by the loader so that lookups are one map access.
	drgs     map[string]DRG
	norms    *NormTable
	mues     map[string]MUEEntry
	calendar *Calendar
	// tableSums are the SHA-256 sums (hex) of the tables the rule set names,
	// by table name: part of what its id@version stands for.
	tableSums map[string]string
}

// Key names the version for people: "id@version".
func (rs *RuleSet) Key() string { return rs.ID + "@" + rs.Version }

// TableSums are the SHA-256 sums (hex) of the tables the rule set names
// (MS-DRG, norms, MUE, calendar, code lists), by table name, as the loader
// read them (from the rule directory, or the embedded defaults). A table's
// content is part of what the rule set's id@version stands for.
func (rs *RuleSet) TableSums() map[string]string { return maps.Clone(rs.tableSums) }

// CodeList returns the named code list, or nil (a nil list matches nothing).
func (rs *RuleSet) CodeList(name string) *CodeList {
	if rs == nil {
		return nil
	}
	return rs.CodeLists[name]
}

// DRG returns the MS-DRG row of the rule set's GMLOS table. Codes are
// matched as three digits ("65" finds "065").
func (rs *RuleSet) DRG(code string) (DRG, bool) {
	if rs == nil || rs.drgs == nil {
		return DRG{}, false
	}
	var buf [8]byte
	d, ok := rs.drgs[string(normaliseDRG(buf[:0], code))]
	return d, ok
}

// NormDays returns the LOS norm, in days, at the percentile (50, 75 or 90;
// 0 means the rule set's concurrent_review.percentile) for a stay with this
// MS-DRG or principal diagnosis, from the rule set's norm table.
func (rs *RuleSet) NormDays(drg string, principal []facts.Code, percentile int) (float64, bool) {
	if rs == nil || rs.norms == nil {
		return 0, false
	}
	if percentile == 0 {
		percentile = rs.Checks.ConcurrentReview.Percentile
	}
	row, ok := rs.norms.Lookup(drg, principal)
	if !ok {
		return 0, false
	}
	return row.Days(percentile)
}

// MUE returns the Medically Unlikely Edit for a HCPCS/CPT code from the rule
// set's MUE table.
func (rs *RuleSet) MUE(code string) (MUEEntry, bool) {
	if rs == nil || rs.mues == nil {
		return MUEEntry{}, false
	}
	code = strings.TrimSpace(code)
	m, ok := rs.mues[code]
	if !ok && hasLower(code) {
		m, ok = rs.mues[strings.ToUpper(code)]
	}
	return m, ok
}

// Calendar is the rule set's holiday calendar; a nil calendar knows only weekends.
func (rs *RuleSet) Calendar() *Calendar {
	if rs == nil {
		return nil
	}
	return rs.calendar
}

func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return true
		}
	}
	return false
}

// Source cites where a rule comes from.
type Source struct {
	Title string `json:"title" yaml:"title"`
	URL   string `json:"url,omitempty" yaml:"url,omitempty"`
}

// Match says which payers a rule set applies to.
type Match struct {
	Identifiers []Identifier `json:"identifiers,omitempty" yaml:"identifiers,omitempty"`
	// Names are case-insensitive aliases matched against Organization.name and
	// against display text such as Synthea's coverage.display.
	Names []string `json:"names,omitempty" yaml:"names,omitempty"`
}

// Identifier is a payer identifier (system and value).
type Identifier struct {
	System string `json:"system" yaml:"system"`
	Value  string `json:"value" yaml:"value"`
}

// Period is a range of dates, both ends inclusive; a zero end is open.
type Period struct {
	From Date `json:"from" yaml:"from"`
	To   Date `json:"to,omitempty" yaml:"to,omitempty"`
}

// Contains reports whether the calendar day of t (in t's location) is in the period.
func (p Period) Contains(t time.Time) bool {
	d := DateOf(t)
	if !p.From.IsZero() && d.Before(p.From) {
		return false
	}
	if !p.To.IsZero() && p.To.Before(d) {
		return false
	}
	return true
}

// Switch turns a check on or off.
type Switch struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
}

// Checks holds the switches and thresholds of every built-in check.
type Checks struct {
	AdmissionNotification    AdmissionNotification `json:"admission_notification" yaml:"admission_notification"`
	AdmissionReview          AdmissionReview       `json:"admission_review" yaml:"admission_review"`
	TwoMidnight              Switch                `json:"two_midnight" yaml:"two_midnight"`
	Observation              Observation           `json:"observation" yaml:"observation"`
	ConditionCode44          Switch                `json:"condition_code_44" yaml:"condition_code_44"`
	ImportantMessage         ImportantMessage      `json:"important_message" yaml:"important_message"`
	GMLOS                    GMLOS                 `json:"gmlos" yaml:"gmlos"`
	ConcurrentReview         ConcurrentReview      `json:"concurrent_review" yaml:"concurrent_review"`
	Readmission              Readmission           `json:"readmission" yaml:"readmission"`
	SNFThreeDay              SNFThreeDay           `json:"snf_three_day" yaml:"snf_three_day"`
	MissingCoverage          Switch                `json:"missing_coverage" yaml:"missing_coverage"`
	PriorAuth                PriorAuth             `json:"prior_auth" yaml:"prior_auth"`
	MUE                      MUE                   `json:"mue" yaml:"mue"`
	DuplicateLines           DuplicateLines        `json:"duplicate_lines" yaml:"duplicate_lines"`
	TimelyFiling             TimelyFiling          `json:"timely_filing" yaml:"timely_filing"`
	ClaimBeforeDetermination Switch                `json:"claim_before_determination" yaml:"claim_before_determination"`
	PaymentWindow            PaymentWindow         `json:"payment_window" yaml:"payment_window"`
	// Determination: the deadlines that run from a clinician's
	// determination (follow-up Tasks); its fields have defaults.
	Determination Determination `json:"determination" yaml:"determination"`
}

// Determination holds the deadlines that run from a UR clinician's
// determination recorded on a completed Task. Each nil field takes its
// documented default; there is no switch: the follow-ups always apply.
type Determination struct {
	// AppealDays: calendar days after a not-certified (X12 306 A3)
	// determination within which it can be appealed; nil means
	// DefaultAppealDays (60). 0: no appeal deadline is tracked.
	AppealDays *int `json:"appeal_days,omitempty" yaml:"appeal_days,omitempty"`
	// PeerToPeerDays: calendar days after an A3 within which the attending
	// can ask for a peer-to-peer review; nil means DefaultPeerToPeerDays
	// (14). 0: none is offered.
	PeerToPeerDays *int `json:"peer_to_peer_days,omitempty" yaml:"peer_to_peer_days,omitempty"`
	// PendedBusinessDays: a pended (A4) determination with no next-review
	// output is due again at the end of this business day after it; nil
	// means DefaultPendedBusinessDays (1).
	PendedBusinessDays *int `json:"pended_business_days,omitempty" yaml:"pended_business_days,omitempty"`
	// RedetermineBusinessDays: a completion by someone outside the clinical
	// reviewers is sent to a reviewer, due at the end of this business day
	// after it; nil means DefaultRedetermineBusinessDays (1).
	RedetermineBusinessDays *int `json:"redetermine_business_days,omitempty" yaml:"redetermine_business_days,omitempty"`
	// AdverseNotice: the written notice of an adverse (A3) determination,
	// Medicaid's 42 CFR 456.126 (admission) and 456.136-137 (continued stay).
	AdverseNotice AdverseNotice `json:"adverse_notice" yaml:"adverse_notice"`
}

// AdverseNotice: a written notice of an adverse determination, due within
// working days (the rule set's holiday calendar) of the determination.
type AdverseNotice struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// WorkingDays: the notice is due at the end of this working day after
	// the determination.
	WorkingDays int `json:"working_days" yaml:"working_days"`
	// AdmissionSource and ContinuedStaySource cite the rule for a
	// determination on an admission review and on a continued-stay review.
	AdmissionSource     string `json:"admission_source,omitempty" yaml:"admission_source,omitempty"`
	ContinuedStaySource string `json:"continued_stay_source,omitempty" yaml:"continued_stay_source,omitempty"`
}

// Defaults of Determination's fields.
const (
	DefaultAppealDays              = 60
	DefaultPeerToPeerDays          = 14
	DefaultPendedBusinessDays      = 1
	DefaultRedetermineBusinessDays = 1
)

func orDefault(p *int, def int) int {
	if p == nil {
		return def
	}
	return max(*p, 0)
}

// Appeal is the appeal window in calendar days (0: none tracked).
func (d *Determination) Appeal() int { return orDefault(d.AppealDays, DefaultAppealDays) }

// PeerToPeer is the peer-to-peer window in calendar days (0: none offered).
func (d *Determination) PeerToPeer() int { return orDefault(d.PeerToPeerDays, DefaultPeerToPeerDays) }

// Pended is the business days after which a pended determination is due again.
func (d *Determination) Pended() int {
	return max(orDefault(d.PendedBusinessDays, DefaultPendedBusinessDays), 1)
}

// Redetermine is the business days a reviewer has to determine a Task
// completed by someone else.
func (d *Determination) Redetermine() int {
	return max(orDefault(d.RedetermineBusinessDays, DefaultRedetermineBusinessDays), 1)
}

// AdmissionNotification: the payer must be told of an inpatient admission.
type AdmissionNotification struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// Hours from the inpatient order to the deadline.
	Hours int `json:"hours" yaml:"hours"`
	// NextBusinessDay moves a deadline that falls on a weekend or holiday to
	// the end of the next business day.
	NextBusinessDay bool `json:"next_business_day" yaml:"next_business_day"`
	// Exemptions give other hours for stays whose diagnosis or encounter type
	// is on a code list (e.g. maternity: 48 h).
	Exemptions []NotificationExemption `json:"exemptions,omitempty" yaml:"exemptions,omitempty"`
}

// AdmissionReview: UR's initial review of every inpatient admission and
// observation placement.
type AdmissionReview struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// BusinessDays: the review is due at the end (23:59:59) of this
	// business day after the day of the inpatient order (or of the
	// observation placement); 1 is the next business day.
	BusinessDays int `json:"business_days" yaml:"business_days"`
}

// NotificationExemption gives a different notification window.
type NotificationExemption struct {
	Name     string `json:"name" yaml:"name"`
	CodeList string `json:"code_list" yaml:"code_list"`
	Hours    int    `json:"hours" yaml:"hours"`
}

// Observation: limits on observation stays.
type Observation struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// Classes are the Encounter.class codes that mean observation (OBSENC by default).
	Classes []string `json:"classes,omitempty" yaml:"classes,omitempty"`
	// MOON turns on the Medicare Outpatient Observation Notice check.
	MOON bool `json:"moon" yaml:"moon"`
	// SecondMidnightLeadHours: raise observation-second-midnight this many
	// hours before the second midnight.
	SecondMidnightLeadHours int `json:"second_midnight_lead_hours" yaml:"second_midnight_lead_hours"`
	// MaxHours before the urgent physician-advisor escalation (48).
	MaxHours int `json:"max_hours" yaml:"max_hours"`
	// MaxHoursLeadHours: raise the escalation this many hours before
	// MaxHours, due at MaxHours; nil means DefaultMaxHoursLead (4).
	MaxHoursLeadHours *int `json:"max_hours_lead_hours,omitempty" yaml:"max_hours_lead_hours,omitempty"`
}

// DefaultMaxHoursLead is the default of Observation.MaxHoursLeadHours: the
// 48-hour escalation is raised at hour 44.
const DefaultMaxHoursLead = 4

// MaxHoursLead is the lead of the observation escalation in hours.
func (o *Observation) MaxHoursLead() int {
	if o.MaxHoursLeadHours == nil {
		return DefaultMaxHoursLead
	}
	return max(*o.MaxHoursLeadHours, 0)
}

// ImportantMessage: the Important Message from Medicare.
type ImportantMessage struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// DaysAfterAdmission for the first copy (2).
	DaysAfterAdmission int `json:"days_after_admission" yaml:"days_after_admission"`
	// DaysBeforeDischarge for the follow-up copy (2).
	DaysBeforeDischarge int `json:"days_before_discharge" yaml:"days_before_discharge"`
}

// GMLOS: length of stay against the MS-DRG geometric mean.
type GMLOS struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// Table names the MS-DRG table (default ms_drg_fy2025_gmlos.csv).
	Table            string  `json:"table,omitempty" yaml:"table,omitempty"`
	Factor           float64 `json:"factor" yaml:"factor"`
	EscalationFactor float64 `json:"escalation_factor" yaml:"escalation_factor"`
	// DefaultReviewDay applies to stays without an MS-DRG.
	DefaultReviewDay int `json:"default_review_day" yaml:"default_review_day"`
}

// ConcurrentReview: cadence of continued-stay reviews.
type ConcurrentReview struct {
	Enabled   bool `json:"enabled" yaml:"enabled"`
	EveryDays int  `json:"every_days,omitempty" yaml:"every_days,omitempty"`
	// NormTable names a LOS norm table; when set the first review is due at
	// its Percentile (50) LOS for the stay, then every EveryDays.
	NormTable  string `json:"norm_table,omitempty" yaml:"norm_table,omitempty"`
	Percentile int    `json:"percentile,omitempty" yaml:"percentile,omitempty"`
}

// Readmission: readmissions within a window.
type Readmission struct {
	Enabled    bool `json:"enabled" yaml:"enabled"`
	WindowDays int  `json:"window_days" yaml:"window_days"`
	// PlannedCodeList names the code list of planned-readmission codes.
	PlannedCodeList string `json:"planned_code_list,omitempty" yaml:"planned_code_list,omitempty"`
	// HRRPCohorts maps a cohort name (AMI, HF, PN, COPD, CABG, THA/TKA) to a code list.
	HRRPCohorts map[string]string `json:"hrrp_cohorts,omitempty" yaml:"hrrp_cohorts,omitempty"`
}

// SNFThreeDay: the Medicare qualifying inpatient stay before SNF care.
type SNFThreeDay struct {
	Enabled      bool `json:"enabled" yaml:"enabled"`
	MinMidnights int  `json:"min_midnights" yaml:"min_midnights"`
}

// PriorAuth: services that need prior authorization.
type PriorAuth struct {
	Enabled  bool   `json:"enabled" yaml:"enabled"`
	CodeList string `json:"code_list" yaml:"code_list"`
	// ClaimTypes limits the check to these Claim.type codes (e.g.
	// institutional for outpatient hospital claims); empty means all.
	ClaimTypes []string `json:"claim_types,omitempty" yaml:"claim_types,omitempty"`
	// OutpatientOnly limits the check to claims not for an inpatient stay.
	OutpatientOnly bool `json:"outpatient_only,omitempty" yaml:"outpatient_only,omitempty"`
	// Retroactive: the payer accepts an authorization request after the
	// date of service, within RetroactiveDays of it (0: no limit). Medicare
	// fee-for-service does not (42 CFR 419.82: no provisional affirmation
	// after the service), so a requirement found after the date of service
	// goes to billing instead of to the payer.
	Retroactive     bool `json:"retroactive,omitempty" yaml:"retroactive,omitempty"`
	RetroactiveDays int  `json:"retroactive_days,omitempty" yaml:"retroactive_days,omitempty"`
}

// AcceptsRequest reports whether the payer still takes a prior-authorization
// request for a service on the given day when the request is made on
// another day (both calendar days): always before and on the day of
// service; after it only when the payer authorizes retroactively, within
// its limit.
func (pa *PriorAuth) AcceptsRequest(service, on Date) bool {
	if !service.Before(on) {
		return true
	}
	if !pa.Retroactive {
		return false
	}
	if pa.RetroactiveDays <= 0 {
		return true
	}
	last := DateOf(time.Date(service.Y, time.Month(service.M), service.D+pa.RetroactiveDays, 0, 0, 0, 0, time.UTC))
	return !last.Before(on)
}

// MUE: Medically Unlikely Edits.
type MUE struct {
	Enabled bool   `json:"enabled" yaml:"enabled"`
	Table   string `json:"table" yaml:"table"`
}

// DuplicateLines: the same service billed twice.
type DuplicateLines struct {
	Enabled         bool     `json:"enabled" yaml:"enabled"`
	ExemptModifiers []string `json:"exempt_modifiers" yaml:"exempt_modifiers"`
}

// TimelyFiling: the payer's filing limit, counted from the service's
// through date in calendar days (LimitDays) or calendar months
// (LimitMonths); a rule set sets exactly one. "1 calendar year" (Medicare,
// 42 CFR 424.44) is LimitMonths 12: 365 days ends a day early whenever the
// year counted includes 29 February.
type TimelyFiling struct {
	Enabled     bool `json:"enabled" yaml:"enabled"`
	LimitDays   int  `json:"limit_days,omitempty" yaml:"limit_days,omitempty"`
	LimitMonths int  `json:"limit_months,omitempty" yaml:"limit_months,omitempty"`
	WarningDays int  `json:"warning_days" yaml:"warning_days"`
}

// HasLimit reports whether a filing limit is set.
func (tf *TimelyFiling) HasLimit() bool { return tf.LimitDays > 0 || tf.LimitMonths > 0 }

// LastDay is the last calendar day on which a claim for services through
// the given date may be filed: LimitDays days after it, or the same day of
// the month LimitMonths months later, the month's last day when it has no
// such day (through 2024-02-29 + 12 months is 2025-02-28, not 03-01).
func (tf *TimelyFiling) LastDay(through Date) Date {
	if tf.LimitMonths > 0 {
		m := through.M - 1 + tf.LimitMonths
		y, mon := through.Y+m/12, m%12+1
		last := time.Date(y, time.Month(mon)+1, 0, 0, 0, 0, 0, time.UTC).Day()
		return Date{y, mon, min(through.D, last)}
	}
	return DateOf(time.Date(through.Y, time.Month(through.M), through.D+tf.LimitDays, 0, 0, 0, 0, time.UTC))
}

// LimitText says the limit in words: "90 days", "12 months".
func (tf *TimelyFiling) LimitText() string {
	if tf.LimitMonths > 0 {
		if tf.LimitMonths == 1 {
			return "1 month"
		}
		return strconv.Itoa(tf.LimitMonths) + " months"
	}
	if tf.LimitDays == 1 {
		return "1 day"
	}
	return strconv.Itoa(tf.LimitDays) + " days"
}

// PaymentWindow: outpatient services that belong on the inpatient claim.
type PaymentWindow struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	Days    int  `json:"days" yaml:"days"`
	// Exclusions are services outside the window by statute (Medicare:
	// ambulance and maintenance dialysis); see payment_window.go.
	Exclusions []WindowExclusion `json:"exclusions,omitempty" yaml:"exclusions,omitempty"`
}
