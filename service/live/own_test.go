package live

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/utilreview/utilreview/fhir"
)

// ownVersions reads the versions a plan transaction wrote from HAPI's
// transaction-response (docs/fhir-server-behaviour.md: 201 for a create,
// 200 for a conditional create that found the Task, 200 for an update),
// entry by entry with the request: only what the service actually wrote
// counts as its own.
func TestOwnVersions(t *testing.T) {
	t.Parallel()
	bundle := []byte(`{"resourceType":"Bundle","type":"transaction","entry":[
		{"request":{"method":"POST","url":"Task"}},
		{"request":{"method":"POST","url":"CommunicationRequest"}},
		{"request":{"method":"POST","url":"Task"}},
		{"request":{"method":"PUT","url":"Task/9"}},
		{"request":{"method":"PUT","url":"Task/10"}},
		{"request":{"method":"PUT","url":"CommunicationRequest/11"}}]}`)
	resp := func(status int, loc, etag string) fhir.Entry {
		return fhir.Entry{Response: &fhir.EntryResponse{Status: status, Location: loc, Etag: etag}}
	}
	tests := []struct {
		name string
		resp []fhir.Entry
		want map[string]string
	}{
		{"creates and updates", []fhir.Entry{
			resp(201, "Task/7/_history/1", `W/"1"`),
			resp(201, "CommunicationRequest/8/_history/1", `W/"1"`),
			resp(200, "Task/5/_history/3", `W/"3"`), // conditional create found a Task: not written
			resp(200, "Task/9/_history/4", `W/"4"`),
			resp(200, "http://fhir.example/fhir/Task/10/_history/2", ""),
			resp(200, "CommunicationRequest/11", `W/"6"`),
		}, map[string]string{"Task/7": "1", "CommunicationRequest/8": "1", "Task/9": "4", "Task/10": "2", "CommunicationRequest/11": "6"}},
		{"an entry without response or version is left out", []fhir.Entry{
			{}, resp(201, "CommunicationRequest/8", ""), resp(201, "", `W/"1"`), resp(200, "Task/9/_history/4", ""),
			resp(200, "Task/10/_history/2", ""), resp(200, "CommunicationRequest/11/_history/6", ""),
		}, map[string]string{"Task/9": "4", "Task/10": "2", "CommunicationRequest/11": "6"}},
		{"a response that does not match the request is ignored", []fhir.Entry{resp(201, "Task/7/_history/1", "")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ownVersions(bundle, tt.resp)
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// The catch-up checks UTILREVIEW_SUBSCRIPTION_FILTER on a deleted
// resource's last content (a type's _history takes no search parameters):
// FHIR token search semantics for _tag and identifier (system|code, |code,
// code, system|; a comma separates alternatives, parameters all apply); any
// other parameter cannot be checked.
func TestMatchesFilter(t *testing.T) {
	t.Parallel()
	res := []byte(`{"resourceType":"Task","meta":{"tag":[{"system":"urn:ward","code":"7"}]},
		"identifier":[{"system":"https://utilreview.dev/fhir/identifier/finding","value":"abc"},{"value":"nosys"}]}`)
	tests := []struct {
		filter       string
		match, known bool
	}{
		{"", true, true},
		{"_tag=urn:ward|7", true, true},
		{"_tag=urn:ward|8", false, true},
		{"_tag=urn:ward|", true, true},
		{"_tag=7", true, true},
		{"_tag=|7", false, true}, // |code means no system
		{"_tag=urn:ward|8,urn:ward|7", true, true},
		{"identifier=https://utilreview.dev/fhir/identifier/finding|", true, true},
		{"identifier=https://other.example/id|", false, true},
		{"identifier=|nosys", true, true},
		{"_tag=urn:ward|7&identifier=https://other.example/id|", false, true},
		{"_tag=urn:ward|7&status=requested", false, false},
	}
	for _, tt := range tests {
		f, err := url.ParseQuery(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		match, known := matchesFilter(res, f)
		if match != tt.match || known != tt.known {
			t.Errorf("%q: match %v known %v, want %v %v", tt.filter, match, known, tt.match, tt.known)
		}
	}
}
