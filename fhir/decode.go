package fhir

import (
	"encoding/json"
	"fmt"
	"reflect"

	gojson "github.com/goccy/go-json"
)

// decodeInto decodes the resource raw into v, a pointer to its samply
// struct, as encoding/json.Unmarshal does: the same value, and where it
// fails, its error.
//
// github.com/goccy/go-json decodes first: it gives the value encoding/json
// gives (TestDecodeIntoEqual: every resource of the test inputs, and cases
// where JSON decoders are known to part from encoding/json) in about a
// quarter of the time (BenchmarkDecodeEngineTypes). Where it fails, or
// panics, v is zeroed and encoding/json decodes again: the reader's messages
// are made from encoding/json's errors, and where encoding/json succeeds its
// value is the one kept.
func decodeInto(raw []byte, v any) error {
	if fastDecode(raw, v) == nil {
		return nil
	}
	reflect.ValueOf(v).Elem().SetZero()
	return json.Unmarshal(raw, v)
}

// fastUnmarshal is the first decoder of decodeInto (a variable for its
// tests).
var fastUnmarshal = gojson.Unmarshal

// fastDecode decodes with fastUnmarshal; a panic is an error.
func fastDecode(raw []byte, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("fast decoder panicked: %v", p)
		}
	}()
	return fastUnmarshal(raw, v)
}
