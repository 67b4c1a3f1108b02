package live

import (
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
