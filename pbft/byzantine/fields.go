package byzantine

import "github.com/bftledger/bftledger/pbft"

// sigOf returns a pointer to m's own signature field.
func sigOf(m pbft.Message) *[]byte {
	switch m := m.(type) {
	case *pbft.Request:
		return &m.Sig
	case *pbft.PrePrepare:
		return &m.Sig
	case *pbft.Prepare:
		return &m.Sig
	case *pbft.Commit:
		return &m.Sig
	case *pbft.Checkpoint:
		return &m.Sig
	case *pbft.ViewChange:
		return &m.Sig
	case *pbft.NewView:
		return &m.Sig
	case *pbft.FetchRequest:
		return &m.Sig
	case *pbft.FetchResponse:
		return &m.Sig
	}
	return nil
}

// setReplica changes the sender m claims.
func setReplica(m pbft.Message, r int) {
	switch m := m.(type) {
	case *pbft.Request:
		m.Replica = r
	case *pbft.PrePrepare:
		m.Replica = r
	case *pbft.Prepare:
		m.Replica = r
	case *pbft.Commit:
		m.Replica = r
	case *pbft.Checkpoint:
		m.Replica = r
	case *pbft.ViewChange:
		m.Replica = r
	case *pbft.NewView:
		m.Replica = r
		for _, pp := range m.PrePrepares { // a NEW-VIEW's pre-prepares are its sender's
			pp.Replica = r
		}
	case *pbft.FetchRequest:
		m.Replica = r
	case *pbft.FetchResponse:
		m.Replica = r
	}
}

// flip corrupts one bit of b in place (b is a copy the caller owns).
func flip(b []byte, ctx *Context) {
	if len(b) > 0 {
		b[ctx.Rng.IntN(len(b))] ^= 1 << ctx.Rng.IntN(8)
	}
}

// randomDigest returns a digest no honest batch has.
func randomDigest(ctx *Context) (d [32]byte) {
	for i := range d {
		d[i] = byte(ctx.Rng.Uint32())
	}
	return d
}

// to returns an envelope for one recipient.
func to(r int, m pbft.Message) pbft.Envelope { return pbft.Envelope{To: r, Msg: m} }
