package fhir

import "encoding/json"

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
// (which must be '"'), and whether it holds escapes; -1 if unterminated.
func stringEnd(b []byte, i int) (int, bool) {
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return j + 1, esc
		}
	}
	return -1, esc
}

// valueEnd returns the index just after the JSON value starting at b[i], or
// -1 when there is none.
func valueEnd(b []byte, i int) int {
	if i < 0 || i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		e, _ := stringEnd(b, i)
		return e
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, _ := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
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
// walked buffer, Key excludes the quotes.
type member struct {
	KeyStart, KeyEnd int
	KeyEsc           bool
	ValStart, ValEnd int
}

// objectIter walks the members of the object starting at b[i].
type objectIter struct {
	b   []byte
	i   int
	bad bool
}

// newObjectIter starts at the '{' at b[i]; ok is false if there is no object.
func newObjectIter(b []byte, i int) (objectIter, bool) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return objectIter{}, false
	}
	return objectIter{b: b, i: i + 1}, true
}

// next returns the next member; ok is false at the end of the object or on
// malformed input (then it.bad is set).
func (it *objectIter) next() (m member, ok bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] == '}' {
		it.bad = i >= len(b)
		it.i = len(b)
		return m, false
	}
	if b[i] != '"' {
		it.bad, it.i = true, len(b)
		return m, false
	}
	ke, esc := stringEnd(b, i)
	if ke < 0 {
		it.bad, it.i = true, len(b)
		return m, false
	}
	j := skipWS(b, ke)
	if j >= len(b) || b[j] != ':' {
		it.bad, it.i = true, len(b)
		return m, false
	}
	vs := skipWS(b, j+1)
	ve := valueEnd(b, vs)
	if ve < 0 {
		it.bad, it.i = true, len(b)
		return m, false
	}
	it.i = ve
	return member{KeyStart: i + 1, KeyEnd: ke - 1, KeyEsc: esc, ValStart: vs, ValEnd: ve}, true
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

// arrayIter walks the elements of the array starting at b[i].
type arrayIter struct {
	b   []byte
	i   int
	bad bool
}

func newArrayIter(b []byte, i int) (arrayIter, bool) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '[' {
		return arrayIter{}, false
	}
	return arrayIter{b: b, i: i + 1}, true
}

// next returns the bounds of the next element.
func (it *arrayIter) next() (start, end int, ok bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] == ']' {
		it.bad = i >= len(b)
		it.i = len(b)
		return 0, 0, false
	}
	e := valueEnd(b, i)
	if e < 0 {
		it.bad, it.i = true, len(b)
		return 0, 0, false
	}
	it.i = e
	return i, e, true
}

// stringValue decodes the JSON string b[s:e]; ok is false if it is not a string.
func stringValue(b []byte, s, e int) (string, bool) {
	if e-s < 2 || b[s] != '"' || b[e-1] != '"' {
		return "", false
	}
	inner := b[s+1 : e-1]
	for _, c := range inner {
		if c == '\\' {
			var out string
			if json.Unmarshal(b[s:e], &out) != nil {
				return "", false
			}
			return out, true
		}
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
