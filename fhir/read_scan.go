package fhir

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// A small JSON walker over bytes already checked by json.Valid. It finds the
// few members the reader needs (resourceType, id, contained, Bundle.type,
// entry.fullUrl, entry.resource) by index, without allocating and without
// building values, so that only the wanted resources pay for a full decode.
// Every access is bounds-checked: on malformed input it reports failure
// (-1 or ok=false) instead of panicking.

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just after the JSON string starting at b[i]
// (which must be '"'), or -1 if it is unterminated. It jumps from quote to
// quote with bytes.IndexByte, which is much faster than a byte loop.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j <= len(b); {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return -1
		}
		q += j
		backslashes := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return -1
}

// valueEnd returns the index just after the JSON value starting at b[i], or
// -1 when there is none.
func valueEnd(b []byte, i int) int {
	if i < 0 || i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		// Count brackets between strings; skip strings whole.
		depth := 0
		for j := i; j < len(b); {
			q := bytes.IndexByte(b[j:], '"')
			seg := b[j:]
			if q >= 0 {
				seg = seg[:q]
			}
			for k, c := range seg {
				switch c {
				case '{', '[':
					depth++
				case '}', ']':
					depth--
					if depth == 0 {
						return j + k + 1
					}
				}
			}
			if q < 0 {
				return -1
			}
			e := stringEnd(b, j+q)
			if e < 0 {
				return -1
			}
			j = e
		}
		return -1
	case ',', ':', '}', ']':
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// member is one "key": value pair of an object; the indexes are into the
// walked buffer, the key's exclude the quotes.
type member struct {
	KeyStart, KeyEnd int
	KeyEsc           bool
	ValStart, ValEnd int // ValEnd is -1 when the caller reads the value itself
}

// objectIter walks the members of the object starting at b[i]. After the
// last member, End is the index just after the closing brace; Bad is set on
// malformed input.
type objectIter struct {
	b    []byte
	i    int
	done bool
	Bad  bool
	End  int
}

// newObjectIter starts at the '{' at b[i]; ok is false if there is no object.
func newObjectIter(b []byte, i int) (objectIter, bool) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return objectIter{}, false
	}
	return objectIter{b: b, i: i + 1, End: -1}, true
}

func (it *objectIter) fail() {
	it.done, it.Bad, it.End = true, true, -1
}

// next returns the next member; ok is false at the end of the object or on
// malformed input.
func (it *objectIter) next() (member, bool) { return it.advance(true) }

// nextKey returns the next member without finding the end of its value
// (ValEnd is -1): the caller reads the value itself and must then call
// resume with its end, which saves a pass over large values.
func (it *objectIter) nextKey() (member, bool) { return it.advance(false) }

// resume continues after a value read by the caller; end < 0 marks the
// object malformed.
func (it *objectIter) resume(end int) {
	if end < 0 {
		it.fail()
		return
	}
	it.i = end
}

func (it *objectIter) advance(skip bool) (member, bool) {
	if it.done {
		return member{}, false
	}
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i < len(b) && b[i] == '}' {
		it.done, it.End = true, i+1
		return member{}, false
	}
	if i >= len(b) || b[i] != '"' {
		it.fail()
		return member{}, false
	}
	ke := stringEnd(b, i)
	if ke < 0 {
		it.fail()
		return member{}, false
	}
	j := skipWS(b, ke)
	if j >= len(b) || b[j] != ':' {
		it.fail()
		return member{}, false
	}
	m := member{KeyStart: i + 1, KeyEnd: ke - 1, ValStart: skipWS(b, j+1), ValEnd: -1}
	m.KeyEsc = bytes.IndexByte(b[m.KeyStart:m.KeyEnd], '\\') >= 0
	if !skip {
		it.i = m.ValStart
		return m, true
	}
	m.ValEnd = valueEnd(b, m.ValStart)
	if m.ValEnd < 0 {
		it.fail()
		return member{}, false
	}
	it.i = m.ValEnd
	return m, true
}

// key reports whether the member's key equals name, unescaping if needed.
func (m member) key(b []byte, name string) bool {
	if !m.KeyEsc {
		return string(b[m.KeyStart:m.KeyEnd]) == name
	}
	var s string
	if json.Unmarshal(b[m.KeyStart-1:m.KeyEnd+1], &s) != nil {
		return false
	}
	return s == name
}

// arrayIter walks the elements of the array starting at b[i], like
// objectIter.
type arrayIter struct {
	b    []byte
	i    int
	done bool
	Bad  bool
}

func newArrayIter(b []byte, i int) (arrayIter, bool) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '[' {
		return arrayIter{}, false
	}
	return arrayIter{b: b, i: i + 1}, true
}

func (it *arrayIter) fail() { it.done, it.Bad = true, true }

// next returns the bounds of the next element.
func (it *arrayIter) next() (start, end int, ok bool) {
	start, ok = it.nextStart()
	if !ok {
		return 0, 0, false
	}
	end = valueEnd(it.b, start)
	it.resume(end)
	return start, end, end >= 0
}

// nextStart returns where the next element starts; the caller reads it and
// calls resume with its end.
func (it *arrayIter) nextStart() (int, bool) {
	if it.done {
		return 0, false
	}
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i < len(b) && b[i] == ']' {
		it.done = true
		return 0, false
	}
	if i >= len(b) {
		it.fail()
		return 0, false
	}
	it.i = i
	return i, true
}

func (it *arrayIter) resume(end int) {
	if end < 0 {
		it.fail()
		return
	}
	it.i = end
}

// stringValue decodes the JSON string b[s:e]; ok is false if it is not a string.
func stringValue(b []byte, s, e int) (string, bool) {
	if e-s < 2 || b[s] != '"' || b[e-1] != '"' {
		return "", false
	}
	inner := b[s+1 : e-1]
	// Escapes and invalid UTF-8 (which encoding/json replaces by U+FFFD) go
	// the slow way, so the result always equals what samply decodes.
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		var out string
		if json.Unmarshal(b[s:e], &out) != nil {
			return "", false
		}
		return out, true
	}
	return string(inner), true
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(b []byte, off int) (line, col int) {
	if off > len(b) {
		off = len(b)
	}
	if off < 0 {
		off = 0
	}
	line, lineStart := 1, 0
	for i := 0; i < off; i++ {
		if b[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	return line, off - lineStart + 1
}
