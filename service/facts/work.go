package facts

import (
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
)

// ownerPatient finds the patient of a Task or Communication: its patient
// reference, else the patient of the encounter or claim it is about. Tasks
// and Communications never create a patient of their own when they name
// none: nothing could be checked for it.
func (b *builder) ownerPatient(r *fhir.Resource, patient *fm.Reference, others ...*fm.Reference) *Patient {
	if patient != nil && patient.Reference != nil && *patient.Reference != "" {
		if p, ok := b.subjectPatient(patient, r); ok && p != nil {
			return p
		}
	}
	for _, ref := range others {
		if ref == nil || ref.Reference == nil {
			continue
		}
		res := b.ix.Resolve(*ref.Reference, r)
		if res == nil {
			continue
		}
		if e := b.encounters[res]; e != nil {
			return e.Patient
		}
		if c := b.claims[res]; c != nil {
			return c.Patient
		}
	}
	return nil
}

// addTask records a Task already present: a finding it answers is not
// raised again.
func (b *builder) addTask(r *fhir.Resource, agents map[string][]Agent) {
	tr := r.Value.(*fm.Task)
	p := b.ownerPatient(r, tr.For, tr.Encounter, tr.Focus)
	if p == nil {
		return
	}
	t := &Task{
		Ref:         refOf(r),
		Identifiers: identifiers(tr.Identifier),
		Codes:       appendCodes(nil, tr.Code),
		Focus:       b.refString(tr.Focus, r),
		Encounter:   b.refString(tr.Encounter, r),
	}
	// A missing status decodes as "draft" (the zero value); keep it empty.
	if tr.Status != fm.TaskStatusDraft || !absent(r, "status") {
		t.Status = tr.Status.Code()
	}
	if tr.Meta != nil && tr.Meta.VersionId != nil {
		t.Version = *tr.Meta.VersionId
	}
	if bs := tr.BusinessStatus; bs != nil && len(bs.Coding) > 0 && bs.Coding[0].Code != nil {
		t.BusinessStatus = *bs.Coding[0].Code
	}
	if tr.Restriction != nil && tr.Restriction.Period != nil && tr.Restriction.Period.End != nil {
		if due, _, err := fhir.ParseDateTime(*tr.Restriction.Period.End, b.loc); err == nil {
			t.Due = due
		}
	}
	t.Raw = r.Raw
	b.taskWork(r, t)
	attachProvenance(t, agents)
	p.Tasks = append(p.Tasks, t)
}

// addCommunication records a Communication already present, e.g. the payer
// notified of an admission.
func (b *builder) addCommunication(r *fhir.Resource) {
	cr := r.Value.(*fm.Communication)
	about := make([]*fm.Reference, 0, len(cr.About)+1)
	about = append(about, cr.Encounter)
	for i := range cr.About {
		about = append(about, &cr.About[i])
	}
	p := b.ownerPatient(r, cr.Subject, about...)
	if p == nil {
		return
	}
	c := &Communication{Ref: refOf(r)}
	// A missing status decodes as "preparation" (the zero value); keep it empty.
	if cr.Status != fm.EventStatusPreparation || !absent(r, "status") {
		c.Status = cr.Status.Code()
	}
	for i := range cr.Category {
		c.Categories = appendCodes(c.Categories, &cr.Category[i])
	}
	for i := range cr.Recipient {
		if ref := b.refString(&cr.Recipient[i], r); ref != "" {
			c.Recipients = append(c.Recipients, ref)
		}
	}
	for _, a := range about {
		if ref := b.refString(a, r); ref != "" && !containsString(c.About, ref) {
			c.About = append(c.About, ref)
		}
	}
	for i := range cr.BasedOn {
		if ref := b.refString(&cr.BasedOn[i], r); ref != "" {
			c.BasedOn = append(c.BasedOn, ref)
		}
	}
	if cr.Sent != nil {
		t, err := b.parseTime(*cr.Sent)
		if err != nil {
			b.problemErr(r, wrapField("communication sent", err))
		} else {
			c.Sent = t
		}
	}
	if b.later(c.Sent) {
		b.leaveOutLater(r) // sent after as-of
		return
	}
	p.Communications = append(p.Communications, c)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
