package p2p

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

func encodeFrames(frames ...[]byte) []byte {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	for _, f := range frames {
		if err := writeFrame(w, f); err != nil {
			panic(err)
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func header(n uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, n)
}

func TestFrameRoundTrip(t *testing.T) {
	large := bytes.Repeat([]byte("0123456789abcdef"), 3*readChunkBytes/16+5) // grows past a chunk
	frames := [][]byte{[]byte("a"), bytes.Repeat([]byte{7}, 200), large, []byte("end")}
	// One byte at a time exercises every partial read.
	fr := newFrameReader(iotest.OneByteReader(bytes.NewReader(encodeFrames(frames...))), len(large))
	for i, want := range frames {
		got, err := fr.next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(got), len(want))
		}
	}
	if _, err := fr.next(); err != io.EOF {
		t.Fatalf("after last frame: %v, want io.EOF", err)
	}
}

func TestFrameReaderErrors(t *testing.T) {
	const maxBytes = 16
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty frame", header(0), ErrFrameEmpty},
		{"one over max", header(maxBytes + 1), ErrFrameTooLarge},
		{"huge", header(0xffff_ffff), ErrFrameTooLarge},
		{"torn header", header(5)[:3], io.ErrUnexpectedEOF},
		{"torn body", append(header(5), "abc"...), io.ErrUnexpectedEOF},
		{"torn body at max", append(header(maxBytes), "abc"...), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newFrameReader(bytes.NewReader(tt.input), maxBytes).next()
			if !errors.Is(err, tt.want) {
				t.Fatalf("next: %v, want %v", err, tt.want)
			}
		})
	}
}

// A length prefix beyond the limit is rejected before anything is allocated:
// a peer cannot make us reserve memory just by announcing a big frame.
func TestOversizedFrameAllocatesNothing(t *testing.T) {
	input := append(header(FrameBytesMax+1), make([]byte, 64)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 100 {
		fr := newFrameReader(bytes.NewReader(input), FrameBytesDefault)
		if _, err := fr.next(); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("next: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	// Each round allocates its reader and buffer (about readBufferBytes)
	// and an error; never anything near the 64 MiB announced.
	perRound := (after.TotalAlloc - before.TotalAlloc) / 100
	if perRound > 2*readBufferBytes {
		t.Fatalf("%d bytes allocated per oversized frame", perRound)
	}
}

// A frame announced just under the limit whose body never comes holds at
// most one chunk, not the announced size.
func TestStalledLargeFrameHoldsOneChunk(t *testing.T) {
	input := append(header(FrameBytesDefault), "only this much"...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := newFrameReader(bytes.NewReader(input), FrameBytesDefault).next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("next: %v", err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > readBufferBytes+2*readChunkBytes {
		t.Fatalf("%d bytes allocated for a stalled frame", got)
	}
}

// FuzzFrameReader feeds arbitrary bytes to the frame reader. It must never
// panic, never return a frame outside (0, max], and every frame it returns
// must re-encode to exactly the bytes it consumed.
func FuzzFrameReader(f *testing.F) {
	const maxBytes = 64
	f.Add(encodeFrames([]byte("hello"), []byte("world")))
	f.Add(header(0))
	f.Add(header(maxBytes + 1))
	f.Add(header(0xffff_ffff))
	f.Add(append(header(3), "ab"...))
	f.Add(encodeFrames(bytes.Repeat([]byte{1}, maxBytes)))
	f.Fuzz(func(t *testing.T, input []byte) {
		fr := newFrameReader(bytes.NewReader(input), maxBytes)
		var frames [][]byte
		for {
			data, err := fr.next()
			if err != nil {
				if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) ||
					errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrFrameEmpty) {
					break
				}
				t.Fatalf("unexpected error %v", err)
			}
			if len(data) == 0 || len(data) > maxBytes {
				t.Fatalf("frame of %d bytes", len(data))
			}
			frames = append(frames, data)
		}
		if enc := encodeFrames(frames...); !bytes.HasPrefix(input, enc) {
			t.Fatalf("frames re-encode to %x, not a prefix of the input", enc)
		}
	})
}
