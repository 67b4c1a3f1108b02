package fhir

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// A small JSON walker that validates as it goes (what it accepts is what
// encoding/json.Valid accepts; malformed input makes it report failure). It finds the
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
// (which must be '"'), or -1 if it is not a valid JSON string: unterminated,
// with a control character, or with a bad escape. Invalid UTF-8 is accepted,
// as encoding/json accepts it.
func stringEnd(b []byte, i int) int {
	j := i + 1
	for j < len(b) {
		// The plain run up to the next byte that needs a look.
		for j < len(b) && !stringSpecial[b[j]] {
			j++
		}
		if j >= len(b) {
			return -1
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1
		case c == '\\':
			if j+1 >= len(b) {
				return -1
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return -1
				}
				j += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

// stringSpecial marks the bytes that end a plain run inside a JSON string.
var stringSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// maxScanDepth is how deeply nested a value valueEnd validates. Deeper input
// is reported as invalid here, and the reader then leaves the file to
// encoding/json, whose own limit (10,000) and messages decide.
const maxScanDepth = 512

// valueEnd validates the JSON value starting at b[i] and returns the index
// just after it, or -1 when there is no valid JSON value there. It accepts
// exactly what encoding/json.Valid accepts (FuzzValueEnd compares them),
// except nesting deeper than maxScanDepth. What follows the value is not
// looked at: "1x" gives 1.
func valueEnd(b []byte, i int) int {
	if i < 0 || i >= len(b) {
		return -1
	}
	switch b[i] {
	case '{', '[':
		return containerEnd(b, i)
	case '"':
		return stringEnd(b, i)
	default:
		return scalarEnd(b, i)
	}
}

// scalarEnd validates a number, true, false or null at b[i].
func scalarEnd(b []byte, i int) int {
	switch b[i] {
	case 't':
		return literalEnd(b, i, "true")
	case 'f':
		return literalEnd(b, i, "false")
	case 'n':
		return literalEnd(b, i, "null")
	}
	return numberEnd(b, i)
}

func literalEnd(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// numberEnd validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func numberEnd(b []byte, i int) int {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && '1' <= b[j] && b[j] <= '9':
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
	default:
		return -1
	}
	if j < len(b) && b[j] == '.' {
		j++
		d := j
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		if j == d {
			return -1
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		d := j
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		if j == d {
			return -1
		}
	}
	return j
}

// containerEnd validates the object or array at b[i] without recursion.
func containerEnd(b []byte, i int) int {
	var stackBuf [32]byte
	stack := append(stackBuf[:0], b[i])
	i++
	const (
		open  = iota // just after '{' or '[': a value (a key) or the close
		value        // after ',': a value (a key)
		next         // after a value: ',' or the close
	)
	st := open
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return -1
		}
		c := b[i]
		top := stack[len(stack)-1]
		if st != value && (c == '}' && top == '{' || c == ']' && top == '[') {
			stack = stack[:len(stack)-1]
			i++
			if len(stack) == 0 {
				return i
			}
			st = next
			continue
		}
		if st == next {
			if c != ',' {
				return -1
			}
			i++
			st = value
			continue
		}
		if top == '{' {
			if c != '"' {
				return -1
			}
			if i = stringEnd(b, i); i < 0 {
				return -1
			}
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return -1
			}
			i = skipWS(b, i+1)
			if i >= len(b) {
				return -1
			}
			c = b[i]
		}
		switch c {
		case '{', '[':
			if len(stack) >= maxScanDepth {
				return -1
			}
			stack = append(stack, c)
			i++
			st = open
			continue
		case '"':
			i = stringEnd(b, i)
		default:
			i = scalarEnd(b, i)
		}
		if i < 0 {
			return -1
		}
		st = next
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
	b     []byte
	i     int
	done  bool
	Bad   bool
	End   int
	after bool // a member was read: a ',' or the '}' must come next
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
	if i < len(b) && b[i] == '}' {
		it.done, it.End = true, i+1
		return member{}, false
	}
	if it.after {
		if i >= len(b) || b[i] != ',' {
			it.fail()
			return member{}, false
		}
		i = skipWS(b, i+1)
	}
	it.after = true
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
	b     []byte
	i     int
	done  bool
	Bad   bool
	End   int  // after the last element: just after the ']'
	after bool // an element was read: a ',' or the ']' must come next
}

func newArrayIter(b []byte, i int) (arrayIter, bool) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '[' {
		return arrayIter{}, false
	}
	return arrayIter{b: b, i: i + 1}, true
}

func (it *arrayIter) fail() { it.done, it.Bad, it.End = true, true, -1 }

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
	if i < len(b) && b[i] == ']' {
		it.done, it.End = true, i+1
		return 0, false
	}
	if it.after {
		if i >= len(b) || b[i] != ',' {
			it.fail()
			return 0, false
		}
		i = skipWS(b, i+1)
	}
	it.after = true
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
