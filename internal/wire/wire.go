// Package wire is bftledger's canonical binary encoding: the one encoding for
// everything that is signed, hashed or sent between replicas.
//
// The format is deliberately small. Integers are fixed-width big-endian, so
// each value has exactly one encoding. Byte strings and lists carry a 4-byte
// big-endian length prefix that the decoder checks against a caller-supplied
// maximum and against the bytes actually remaining, before allocating.
// Booleans are one byte, 0 or 1. Decoding is strict: a value that could not
// have been produced by the encoder is an error, and so are trailing bytes.
//
// Version tags belong to the formats built on top (each carries a leading
// version or kind byte); this package only fixes how the fields are laid out.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by Decoder. They are wrapped with the position and field
// size, so compare with errors.Is.
var (
	ErrTruncated    = errors.New("wire: truncated input")
	ErrTooLong      = errors.New("wire: length exceeds limit")
	ErrTrailing     = errors.New("wire: trailing bytes")
	ErrNonCanonical = errors.New("wire: non-canonical encoding")
)

// Encoder appends canonical encodings to a byte slice. The zero value is
// ready to use.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an encoder whose buffer has room for sizeHint bytes.
func NewEncoder(sizeHint int) *Encoder {
	return &Encoder{buf: make([]byte, 0, sizeHint)}
}

// Bytes returns the encoded bytes. The encoder keeps ownership until it is
// no longer used.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Uint8 appends one byte.
func (e *Encoder) Uint8(v uint8) { e.buf = append(e.buf, v) }

// Bool appends 1 for true and 0 for false.
func (e *Encoder) Bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// Uint32 appends v as 4 big-endian bytes.
func (e *Encoder) Uint32(v uint32) { e.buf = binary.BigEndian.AppendUint32(e.buf, v) }

// Uint64 appends v as 8 big-endian bytes.
func (e *Encoder) Uint64(v uint64) { e.buf = binary.BigEndian.AppendUint64(e.buf, v) }

// Fixed appends b with no length prefix; the decoder must know its size.
func (e *Encoder) Fixed(b []byte) { e.buf = append(e.buf, b...) }

// VarBytes appends a length-prefixed byte string.
func (e *Encoder) VarBytes(b []byte) {
	e.Uint32(uint32(len(b)))
	e.buf = append(e.buf, b...)
}

// String appends a length-prefixed string.
func (e *Encoder) String(s string) {
	e.Uint32(uint32(len(s)))
	e.buf = append(e.buf, s...)
}

// Count appends a list length; the elements follow.
func (e *Encoder) Count(n int) { e.Uint32(uint32(n)) }

// Decoder reads a canonical encoding. Errors are sticky: after the first
// failure every read returns a zero value and Err reports the failure, so
// callers may decode a whole structure and check once.
type Decoder struct {
	buf []byte
	off int
	err error
}

// NewDecoder returns a decoder over b. Decoded byte strings alias b unless
// the caller copies them; see VarBytes.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Remaining returns the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Finish returns the first error met or ErrTrailing if input is left over.
// Every decode of a whole value ends with it.
func (d *Decoder) Finish() error {
	if d.err != nil {
		return d.err
	}
	if d.off != len(d.buf) {
		return fmt.Errorf("%d bytes at offset %d: %w", len(d.buf)-d.off, d.off, ErrTrailing)
	}
	return nil
}

// Fail records err (wrapped with the offset) unless an error is already
// recorded. Formats built on this package use it for their own checks.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("offset %d: %w", d.off, err)
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf)-d.off {
		d.Fail(fmt.Errorf("need %d bytes, have %d: %w", n, len(d.buf)-d.off, ErrTruncated))
		return nil
	}
	b := d.buf[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

// Uint8 reads one byte.
func (d *Decoder) Uint8() uint8 {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool reads one byte that must be 0 or 1.
func (d *Decoder) Bool() bool {
	v := d.Uint8()
	if v > 1 {
		d.Fail(fmt.Errorf("bool byte %d: %w", v, ErrNonCanonical))
		return false
	}
	return v == 1
}

// Uint32 reads 4 big-endian bytes.
func (d *Decoder) Uint32() uint32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// Uint64 reads 8 big-endian bytes.
func (d *Decoder) Uint64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Fixed reads exactly n bytes. The result aliases the input.
func (d *Decoder) Fixed(n int) []byte { return d.take(n) }

// length reads a length prefix and checks it against max and the input.
func (d *Decoder) length(max int) int {
	n := d.Uint32()
	if d.err != nil {
		return 0
	}
	if uint64(n) > uint64(max) {
		d.Fail(fmt.Errorf("length %d > %d: %w", n, max, ErrTooLong))
		return 0
	}
	return int(n)
}

// VarBytes reads a length-prefixed byte string of at most max bytes. The
// result aliases the input; copy it if the input buffer is reused.
func (d *Decoder) VarBytes(max int) []byte {
	n := d.length(max)
	return d.take(n)
}

// String reads a length-prefixed string of at most max bytes.
func (d *Decoder) String(max int) string {
	return string(d.VarBytes(max))
}

// Count reads a list length of at most max elements. Each element takes at
// least minElemBytes, which lets the decoder refuse a count the remaining
// input cannot hold before the caller allocates for it.
func (d *Decoder) Count(max, minElemBytes int) int {
	n := d.length(max)
	if d.err != nil {
		return 0
	}
	if minElemBytes > 0 && n > d.Remaining()/minElemBytes {
		d.Fail(fmt.Errorf("count %d cannot fit in %d bytes: %w", n, d.Remaining(), ErrTruncated))
		return 0
	}
	return n
}
