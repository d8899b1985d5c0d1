package p2p

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The wire format of /bftledger/consensus/1.0.0 is a sequence of frames, each
// a 4-byte big-endian payload length followed by that many payload bytes. The
// length is at least 1 and at most the receiver's MaxFrameBytes. There is no
// other framing, versioning or checksum: the stream is authenticated and
// integrity-protected by the noise session, and the payload carries its own
// versioned encoding.

// Errors of the frame reader. Either one means the peer broke the protocol:
// the stream is closed and the frame counted as malformed.
var (
	ErrFrameTooLarge = errors.New("p2p: frame exceeds max frame bytes")
	ErrFrameEmpty    = errors.New("p2p: empty frame")
)

// frameReader decodes frames from one stream.
type frameReader struct {
	r        *bufio.Reader
	maxBytes int
	header   [frameHeaderBytes]byte
}

func newFrameReader(r io.Reader, maxBytes int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, readBufferBytes), maxBytes: maxBytes}
}

// next returns the next frame's payload, which the caller then owns. It
// returns io.EOF if the stream ends cleanly between frames,
// io.ErrUnexpectedEOF if it ends inside one, ErrFrameTooLarge or
// ErrFrameEmpty for a bad length (checked before anything is allocated), or
// the stream's read error.
func (f *frameReader) next() ([]byte, error) {
	if _, err := io.ReadFull(f.r, f.header[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(f.header[:])
	if n == 0 {
		return nil, ErrFrameEmpty
	}
	if uint64(n) > uint64(f.maxBytes) {
		return nil, fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, n, f.maxBytes)
	}
	return readBody(f.r, int(n))
}

// readBody reads exactly n bytes. Bodies up to readChunkBytes are allocated
// at once; longer ones grow (doubling) as their bytes arrive, so memory
// follows what the peer actually sent rather than what it announced.
func readBody(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, readChunkBytes))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), n))
			copy(grown, buf)
			buf = grown
		}
		m, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// writeFrame appends one frame to w. The caller checked 0 < len(data) <=
// MaxFrameBytes.
func writeFrame(w *bufio.Writer, data []byte) error {
	var header [frameHeaderBytes]byte
	binary.BigEndian.PutUint32(header[:], uint32(len(data)))
	if _, err := w.Write(header[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}
