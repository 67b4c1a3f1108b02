// Package determination records the hospital UR team's determinations (on
// its own account, or under utilization management delegated by the payer)
// as Da Vinci PAS-shaped ClaimResponses. A UR clinician completes a
// utilreview Task with a determination output (an X12 306 code, read by
// service/facts); the live service plans, per patient, the writes that make
// the FHIR server hold one ClaimResponse per such Task:
//
//   - the ClaimResponse (use preauthorization, status active) answers the
//     Claim the review concerns: the Task's Claim, else a claim of the
//     reviewed stay, else a Claim with use preauthorization that utilreview
//     writes for the stay (the PAS request, one item for the stay);
//   - identifiers are deterministic: the ClaimResponse's is
//     <base>/identifier/determination | <the Task's identifier value>, and it
//     also carries the Task's identifier; the preauthorization Claim's is
//     <base>/identifier/preauthorization | stay-<hash of the stay's key>;
//   - a new determination is a conditional create (If-None-Exist), so a
//     replay never makes a second one; a changed one (the clinician changed
//     the outputs, or completed a new version) is a new version of the same
//     ClaimResponse written with If-Match, so _history keeps the earlier
//     decision; an unchanged one is not written;
//   - the completed Task is never written to;
//   - a determination by someone outside the clinical reviewers is not
//     recorded (service/checks raises determination-reviewer for it).
//
// Nothing here does I/O: the live service reads the patient's context and
// posts the Bundle.
package determination

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// Da Vinci PAS 2.2.1 extension URLs and the code systems it uses.
const (
	PASBase                  = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
	ExtReviewAction          = PASBase + "extension-reviewAction"
	ExtReviewActionCode      = PASBase + "extension-reviewActionCode"
	ExtItemPreAuthPeriod     = PASBase + "extension-itemPreAuthPeriod"
	ExtItemAuthorizedDetail  = PASBase + "extension-itemAuthorizedDetail"
	AdjudicationSystem       = "http://terminology.hl7.org/CodeSystem/adjudication"
	ClaimTypeSystem          = "http://terminology.hl7.org/CodeSystem/claim-type"
	ProcessPrioritySystem    = "http://terminology.hl7.org/CodeSystem/processpriority"
	X12ServiceTypeSystem     = "https://codesystem.x12.org/005010/1365"
	X12ReasonSystem          = "https://codesystem.x12.org/external/886"
	UCUM                     = "http://unitsofmeasure.org"
	DefaultRequestorDisplay  = "Hospital utilization review team"
	dispositionDelegatedNote = "Determination of the hospital's utilization review team (on its own account, or under " +
		"utilization management delegated by the payer), recorded by utilreview from the reviewer's completed Task"
)

// Config says how determinations are written.
type Config struct {
	// Base is utilreview's canonical base (the worklist Writer's Base).
	Base string
	// FindingSystem is the system of utilreview's Task identifiers.
	FindingSystem string
	// Requestor is the hospital when the stay names no serviceProvider;
	// default display DefaultRequestorDisplay.
	Requestor fhir.Reference
	// Location is the facility time zone dateTimes are written in.
	Location *time.Location
	// Rules gives the payer's rule set, whose match identifier names the
	// payer when its Organization carries none; nil: none.
	Rules checks.RuleSource
	// Reviewers are the clinical reviewers; nil or empty: everyone.
	Reviewers *Reviewers
}

// Recorder plans the writes of determinations. Safe for concurrent use.
type Recorder struct {
	cfg         Config
	system      string // ClaimResponse identifier system
	claimSystem string // preauthorization Claim identifier system
}

// New returns a Recorder.
func New(cfg Config) *Recorder {
	cfg.Base = strings.TrimRight(cfg.Base, "/")
	if cfg.Base == "" {
		cfg.Base = "https://utilreview.dev/fhir"
	}
	if cfg.FindingSystem == "" {
		cfg.FindingSystem = cfg.Base + "/identifier/finding"
	}
	if cfg.Requestor.IsZero() {
		cfg.Requestor = fhir.Reference{Display: DefaultRequestorDisplay}
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	return &Recorder{cfg: cfg, system: cfg.Base + SystemPath, claimSystem: cfg.Base + "/identifier/preauthorization"}
}

// System is the ClaimResponse identifier system, <base>/identifier/determination.
func (r *Recorder) System() string { return r.system }

// ClaimSystem is the preauthorization Claim identifier system.
func (r *Recorder) ClaimSystem() string { return r.claimSystem }

// AvoidableDaysExtension is the URL of utilreview's avoidable-days extension.
func (r *Recorder) AvoidableDaysExtension() string {
	return r.cfg.Base + "/StructureDefinition/avoidable-days"
}

// Outcome is what the plan does with one completed Task's determination.
type Outcome string

const (
	OutcomeCreate      Outcome = "create"       // a new ClaimResponse
	OutcomeUpdate      Outcome = "update"       // a new version of it (If-Match)
	OutcomeUnchanged   Outcome = "unchanged"    // the server holds it already
	OutcomeNotReviewer Outcome = "not-reviewer" // made outside the reviewers: not recorded
	OutcomeNoPayer     Outcome = "no-payer"     // no payer known for the stay or claim: not recorded
	OutcomeNoFocus     Outcome = "no-focus"     // the Task's stay or claim is not in the record
)

// Write is one entry of the plan's transaction.
type Write struct {
	Type        string // ClaimResponse | Claim
	Method      string
	URL         string
	FullURL     string
	IfNoneExist string
	IfMatch     string
	Body        []byte
}

// Plan is the writes of one patient's determinations.
type Plan struct {
	Writes   []Write
	Outcomes map[Outcome]int
}

// Empty reports whether the plan writes nothing.
func (p *Plan) Empty() bool { return p == nil || len(p.Writes) == 0 }

// Bundle is the plan as a transaction Bundle.
func (p *Plan) Bundle() []byte {
	bw := fhir.NewBundleWriter(make([]byte, 0, 4096), "transaction")
	for _, w := range p.Writes {
		bw.Add(fhir.BundleEntry{FullURL: w.FullURL, Resource: fhir.RawJSON(w.Body), Request: fhir.BundleRequest{
			Method: w.Method, URL: w.URL, IfNoneExist: w.IfNoneExist, IfMatch: w.IfMatch}})
	}
	return bw.Finish()
}

// existingResponse is a ClaimResponse utilreview wrote, as the server holds it.
type existingResponse struct {
	ref     string // ClaimResponse/id
	version string
	raw     map[string]any
	request string
	items   []int
}

// Existing is what the server holds of utilreview's determinations and
// preauthorization Claims for a patient.
type Existing struct {
	responses map[string]*existingResponse // by determination identifier value
	claims    map[string]string            // preauthorization Claim identifier value -> Claim/id
}

// Index finds utilreview's ClaimResponses and preauthorization Claims
// among a patient's resources.
func (r *Recorder) Index(resources []*fhir.Resource) *Existing {
	ex := &Existing{responses: map[string]*existingResponse{}, claims: map[string]string{}}
	for _, res := range resources {
		if res == nil || res.ID == "" || (res.Type != "ClaimResponse" && res.Type != "Claim") {
			continue
		}
		var head struct {
			Meta struct {
				VersionID string `json:"versionId"`
			} `json:"meta"`
			Identifier []struct {
				System, Value string
			} `json:"identifier"`
			Request struct {
				Reference string `json:"reference"`
			} `json:"request"`
			Item []struct {
				ItemSequence int `json:"itemSequence"`
			} `json:"item"`
		}
		if json.Unmarshal(res.Raw, &head) != nil {
			continue
		}
		for _, id := range head.Identifier {
			switch {
			case res.Type == "ClaimResponse" && id.System == r.system && id.Value != "":
				var m map[string]any
				if json.Unmarshal(res.Raw, &m) != nil {
					continue
				}
				e := &existingResponse{ref: "ClaimResponse/" + res.ID, version: head.Meta.VersionID, raw: m}
				if ref, ok := fhir.ParseReference(head.Request.Reference); ok && ref.Type == "Claim" {
					e.request = ref.Type + "/" + ref.ID
				}
				for _, it := range head.Item {
					e.items = append(e.items, it.ItemSequence)
				}
				ex.responses[id.Value] = e
			case res.Type == "Claim" && id.System == r.claimSystem && id.Value != "":
				ex.claims[id.Value] = "Claim/" + res.ID
			}
		}
	}
	return ex
}

// IsOwn reports whether a ClaimResponse or Claim carries one of the
// Recorder's identifier systems (utilreview's own determinations and
// preauthorization requests, never the payer's).
func (r *Recorder) IsOwn(identifiers []facts.Identifier) bool {
	for _, id := range identifiers {
		if id.System == r.system || id.System == r.claimSystem {
			return true
		}
	}
	return false
}

// Plan computes the writes that record the patient's determinations.
// existing may be nil (nothing on the server yet).
func (r *Recorder) Plan(p *facts.Patient, existing *Existing) *Plan {
	pl := &Plan{Outcomes: map[Outcome]int{}}
	if p == nil {
		return pl
	}
	if existing == nil {
		existing = &Existing{}
	}
	claimsWritten := map[string]string{} // preauth identifier value -> fullUrl, within this plan
	tasks := append([]*facts.Task(nil), p.Tasks...)
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].Ref < tasks[j].Ref })
	for _, t := range tasks {
		d := t.Determination
		if d == nil || t.Status != "completed" {
			continue
		}
		value := t.IdentifierValue(r.cfg.FindingSystem)
		if value == "" {
			continue
		}
		if !r.cfg.Reviewers.Determines(t) {
			pl.Outcomes[OutcomeNotReviewer]++
			continue
		}
		subj := r.subject(p, t)
		if subj == nil {
			pl.Outcomes[OutcomeNoFocus]++
			continue
		}
		if subj.payer == nil {
			pl.Outcomes[OutcomeNoPayer]++
			continue
		}
		prev := existing.responses[value]
		request, items, fullURL := "", []int(nil), ""
		switch {
		case prev != nil && prev.request != "":
			// The request a recorded determination answers stays the same.
			request, items = prev.request, prev.items
		case subj.claim != nil:
			request, items = subj.claim.Ref, claimItems(subj.claim, nil)
		case subj.billing != nil:
			request, items = subj.billing.Ref, claimItems(subj.billing, subj.stay)
		default:
			key := r.preauthValue(subj.stay)
			if ref, ok := existing.claims[key]; ok {
				request, items = ref, []int{1}
				break
			}
			if u, ok := claimsWritten[key]; ok {
				fullURL, items = u, []int{1}
				break
			}
			fullURL, items = fullURLOf(r.claimSystem+"|"+key), []int{1}
			claimsWritten[key] = fullURL
			pl.Writes = append(pl.Writes, Write{
				Type: "Claim", Method: http.MethodPost, URL: "Claim", FullURL: fullURL,
				IfNoneExist: "identifier=" + url.QueryEscape(r.claimSystem+"|"+key),
				Body:        r.preauthClaim(p, subj, key, t.Completed),
			})
		}
		if len(items) == 0 {
			items = []int{1}
		}
		reqRef := request
		if reqRef == "" {
			reqRef = fullURL
		}
		body := r.claimResponse(p, t, subj, value, reqRef, items)
		switch {
		case prev == nil:
			pl.Outcomes[OutcomeCreate]++
			pl.Writes = append(pl.Writes, Write{
				Type: "ClaimResponse", Method: http.MethodPost, URL: "ClaimResponse", FullURL: fullURLOf(r.system + "|" + value),
				IfNoneExist: "identifier=" + url.QueryEscape(r.system+"|"+value), Body: body,
			})
		case sameContent(prev.raw, body):
			pl.Outcomes[OutcomeUnchanged]++
		default:
			pl.Outcomes[OutcomeUpdate]++
			id := strings.TrimPrefix(prev.ref, "ClaimResponse/")
			pl.Writes = append(pl.Writes, Write{
				Type: "ClaimResponse", Method: http.MethodPut, URL: prev.ref, IfMatch: prev.version,
				FullURL: r.cfg.Base + "/" + prev.ref, // informative (as the worklist's updates); the request URL counts
				Body:    withID(body, id),
			})
		}
	}
	return pl
}

// subject is what a determination is about.
type subject struct {
	stay    *facts.Encounter // the reviewed stay (of the claim, for a claim)
	claim   *facts.Claim     // the Task's claim, when the review was of a claim
	billing *facts.Claim     // a claim of the stay, when the review was of a stay
	payer   *facts.Payer
}

func (r *Recorder) subject(p *facts.Patient, t *facts.Task) *subject {
	for _, ref := range []string{t.Focus, t.Encounter} {
		if ref == "" {
			continue
		}
		for _, c := range p.Claims {
			if c.Ref == ref && !r.ownClaim(c) {
				s := &subject{claim: c, payer: c.Payer}
				if len(c.Encounters) > 0 {
					s.stay = c.Encounters[0]
				}
				return s
			}
		}
		for _, e := range p.Encounters {
			if e.Ref != ref {
				continue
			}
			s := &subject{stay: e, payer: e.Payer}
			for _, c := range e.Claims {
				if c.Use == "claim" && c.Status != "cancelled" && c.Status != "entered-in-error" && !r.ownClaim(c) {
					s.billing = c
					break
				}
			}
			return s
		}
	}
	return nil
}

// ownClaim reports a preauthorization Claim utilreview wrote (its key is
// its business identifier in the Recorder's system).
func (r *Recorder) ownClaim(c *facts.Claim) bool {
	return strings.HasPrefix(c.Key, r.claimSystem+"|")
}

// claimItems are the sequences of the claim's items for the stay (all
// when none names it or no stay is given).
func claimItems(c *facts.Claim, stay *facts.Encounter) []int {
	var all, forStay []int
	for _, l := range c.Lines {
		if l.Sequence <= 0 {
			continue
		}
		all = append(all, l.Sequence)
		if stay != nil {
			for _, e := range l.Encounters {
				if e == stay.Ref {
					forStay = append(forStay, l.Sequence)
				}
			}
		}
	}
	if len(forStay) > 0 {
		return forStay
	}
	return all
}

// preauthValue is the preauthorization Claim's identifier value for a
// stay: "stay-" and 96 bits of the SHA-256 of the stay's stable key.
func (r *Recorder) preauthValue(e *facts.Encounter) string {
	key := e.Key
	if key == "" {
		key = e.Ref
	}
	sum := sha256.Sum256([]byte("preauthorization\x00" + key))
	return "stay-" + hex.EncodeToString(sum[:12])
}

// fullURLOf is a deterministic urn:uuid (version 5 style) of a token.
func fullURLOf(name string) string {
	sum := sha256.Sum256([]byte(name))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
	return "urn:uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sameContent compares a ClaimResponse on the server with the one to
// write, leaving out what the server sets (id, text, meta but its tags).
func sameContent(onServer map[string]any, body []byte) bool {
	var want map[string]any
	if json.Unmarshal(body, &want) != nil {
		return false
	}
	have := make(map[string]any, len(onServer))
	for k, v := range onServer {
		switch k {
		case "id", "text":
			continue
		case "meta":
			if m, _ := v.(map[string]any); m["tag"] != nil {
				have[k] = map[string]any{"tag": m["tag"]}
			}
			continue
		}
		have[k] = v
	}
	return reflect.DeepEqual(have, want)
}

// withID puts the id into a resource body, for a PUT.
func withID(body []byte, id string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	raw, _ := json.Marshal(id)
	m["id"] = raw
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}
