package fhir

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
)

// decodeError turns an error of decoding a resource of type typ into the
// samply struct of goType into a message naming the element and the kind
// of problem. It never quotes the value: a field filled with the wrong
// content may hold a name or a birth date, and these messages reach logs.
// Go type names and encoding/json wording stay out too.
func decodeError(typ string, goType reflect.Type, raw []byte, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		elem := typ
		if te.Field != "" {
			elem += "." + te.Field
		}
		got, _, _ := strings.Cut(te.Value, " ") // "number 12" would quote the number
		if got == "bool" {
			got = "boolean"
		}
		return errors.New(elem + ": expected " + expectedKind(te.Type) + ", got " + article(got))
	}
	// samply's code decoders: "unknown AdministrativeGender code `value`".
	if msg := err.Error(); strings.HasPrefix(msg, "unknown ") {
		if name, _, ok := strings.Cut(msg[len("unknown "):], " code `"); ok && isIdent(name) {
			paths := present(raw, fieldsOfType(goType, name))
			switch {
			case len(paths) == 0:
				return errors.New(typ + ": not a valid " + name + " code")
			case len(paths) > 3:
				paths = paths[:3]
			}
			for i := range paths {
				paths[i] = typ + "." + paths[i]
			}
			return errors.New(strings.Join(paths, " or ") + ": not a valid code")
		}
	}
	return errors.New(typ + ": an element has a value of the wrong form")
}

// expectedKind is what JSON value a Go type is decoded from, for messages:
// "an object (Coding)", "an array", "a string".
// present keeps the paths whose top-level element is in the resource, so
// that "Encounter.status" is not also blamed on an absent statusHistory.
func present(raw []byte, paths []string) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return paths
	}
	out := paths[:0]
	for _, p := range paths {
		first, _, _ := strings.Cut(p, ".")
		if _, ok := top[first]; ok {
			out = append(out, p)
		}
	}
	return out
}

func expectedKind(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return "an object (" + t.Name() + ")"
	case reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Name() == "RawMessage" {
			return "a JSON value"
		}
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

func article(kind string) string {
	switch kind {
	case "object", "array":
		return "an " + kind
	case "":
		return "another kind of value"
	}
	return "a " + kind
}

func isIdent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// fieldsOfType lists the JSON paths ("gender", "contact.gender") of the
// fields of struct type t whose type is named typeName, shallowest first.
// Breadth first, each struct type once (at its shallowest place): samply's
// types nest deeply (every element has extensions with dozens of value[x]),
// and a code the reader rejects sits near the top.
func fieldsOfType(t reflect.Type, typeName string) []string {
	type node struct {
		t      reflect.Type
		prefix string
	}
	var out []string
	seen := make(map[reflect.Type]bool)
	queue := []node{{t, ""}}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		st := n.t
		for st != nil && (st.Kind() == reflect.Pointer || st.Kind() == reflect.Slice) {
			st = st.Elem()
		}
		if st == nil || st.Kind() != reflect.Struct || seen[st] {
			continue
		}
		seen[st] = true
		for i := 0; i < st.NumField(); i++ {
			f := st.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Name() == typeName {
				out = append(out, n.prefix+name)
				continue
			}
			queue = append(queue, node{ft, n.prefix + name + "."})
		}
	}
	return out
}
