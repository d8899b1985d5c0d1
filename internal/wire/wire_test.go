package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestEncodingLayout(t *testing.T) {
	e := NewEncoder(0)
	e.Uint8(1)
	e.Bool(true)
	e.Bool(false)
	e.Uint32(0x01020304)
	e.Uint64(0x0102030405060708)
	e.Fixed([]byte{0xaa})
	e.VarBytes([]byte{0xbb, 0xcc})
	e.String("d")
	e.Count(3)
	want := "01" + "01" + "00" + "01020304" + "0102030405060708" + "aa" + "00000002bbcc" + "0000000164" + "00000003"
	if got := hex.EncodeToString(e.Bytes()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if e.Len() != len(want)/2 {
		t.Fatal("Len")
	}

	d := NewDecoder(e.Bytes())
	if d.Uint8() != 1 || !d.Bool() || d.Bool() || d.Uint32() != 0x01020304 || d.Uint64() != 0x0102030405060708 ||
		!bytes.Equal(d.Fixed(1), []byte{0xaa}) || !bytes.Equal(d.VarBytes(2), []byte{0xbb, 0xcc}) ||
		d.String(1) != "d" || d.Count(3, 0) != 3 {
		t.Fatal("decoded values differ")
	}
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestDecoderErrors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		read func(d *Decoder)
		want error
	}{
		{"truncated u32", []byte{1, 2, 3}, func(d *Decoder) { d.Uint32() }, ErrTruncated},
		{"truncated u64", make([]byte, 7), func(d *Decoder) { d.Uint64() }, ErrTruncated},
		{"bool 2", []byte{2}, func(d *Decoder) { d.Bool() }, ErrNonCanonical},
		{"length over max", []byte{0, 0, 0, 5, 1, 2, 3, 4, 5}, func(d *Decoder) { d.VarBytes(4) }, ErrTooLong},
		{"length past end", []byte{0, 0, 0, 5, 1}, func(d *Decoder) { d.VarBytes(10) }, ErrTruncated},
		{"huge length", []byte{0x7f, 0xff, 0xff, 0xff}, func(d *Decoder) { d.VarBytes(1 << 31) }, ErrTruncated},
		{"count cannot fit", []byte{0, 0, 0, 9, 0, 0}, func(d *Decoder) { d.Count(100, 1) }, ErrTruncated},
		{"count over max", []byte{0, 0, 0, 9}, func(d *Decoder) { d.Count(8, 0) }, ErrTooLong},
		{"trailing", []byte{1, 2}, func(d *Decoder) { d.Uint8() }, ErrTrailing},
		{"fixed past end", []byte{1}, func(d *Decoder) { d.Fixed(2) }, ErrTruncated},
	}
	for _, tc := range cases {
		d := NewDecoder(tc.in)
		tc.read(d)
		if err := d.Finish(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestErrorsAreSticky(t *testing.T) {
	d := NewDecoder([]byte{1})
	d.Uint32()
	first := d.Err()
	if first == nil || d.Uint8() != 0 || d.Err() != first {
		t.Fatal("reads after an error must return zero and keep the first error")
	}
	d2 := NewDecoder(nil)
	d2.Fail(ErrNonCanonical)
	d2.Fail(ErrTooLong)
	if !errors.Is(d2.Err(), ErrNonCanonical) || errors.Is(d2.Err(), ErrTooLong) {
		t.Fatal("Fail must keep the first error")
	}
}

// FuzzDecoder decodes a small fixed schema (u8, bool, u32, bytes, a list of
// u64) and checks that whatever it accepts re-encodes to the input.
func FuzzDecoder(f *testing.F) {
	e := NewEncoder(0)
	e.Uint8(7)
	e.Bool(true)
	e.Uint32(9)
	e.VarBytes([]byte("abc"))
	e.Count(2)
	e.Uint64(1)
	e.Uint64(2)
	f.Add(e.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b)
		a, flag, n, vb := d.Uint8(), d.Bool(), d.Uint32(), d.VarBytes(64)
		count := d.Count(16, 8)
		list := make([]uint64, count)
		for i := range list {
			list[i] = d.Uint64()
		}
		if d.Finish() != nil {
			return
		}
		e := NewEncoder(len(b))
		e.Uint8(a)
		e.Bool(flag)
		e.Uint32(n)
		e.VarBytes(vb)
		e.Count(len(list))
		for _, v := range list {
			e.Uint64(v)
		}
		if !bytes.Equal(e.Bytes(), b) {
			t.Fatalf("%x re-encodes as %x", b, e.Bytes())
		}
	})
}
