package fhir

// The reader's API (implementation lands with the reader work):
//
//	func NewReader(types ...string) *Reader
//	    decodes resources of these resourceTypes into samply structs (Value);
//	    with no types, EngineTypes.
//	func (r *Reader) ReadPaths(paths []string, emit func(*Resource)) []error
//	    files and directories (recursively: *.json, *.ndjson, *.jsonl); every
//	    problem is an *InputError; reading goes on after one.
//	func (r *Reader) ReadBytes(name string, data []byte, emit func(*Resource)) []error
//	    one file's content: a resource, a Bundle (transaction, batch,
//	    collection, searchset, history; entries emitted one by one with
//	    Source.Entry and FullURL) or NDJSON (Source.Line).
//	func NewIndex() *Index
//	func (ix *Index) Add(r *Resource)
//	func (ix *Index) Resolve(ref string, from *Resource) *Resource
//	    "Type/id", absolute URLs ending in Type/id (with or without _history),
//	    "urn:uuid:..." fullUrls, and "#id" contained in from; nil when not found.
//	func ParseDateTime(s string, loc *time.Location) (time.Time, Precision, error)
//	    FHIR date/dateTime/instant: with offset, without offset (read in loc),
//	    partial (YYYY, YYYY-MM, YYYY-MM-DD: the start of that period in loc).

// EngineTypes are the resource types the engine reads.
var EngineTypes = []string{
	"Patient", "Encounter", "Claim", "Coverage", "ExplanationOfBenefit", "ClaimResponse",
	"Condition", "Procedure", "Organization", "Account", "Task", "Communication",
}
