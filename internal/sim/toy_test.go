package sim

import (
	"errors"

	"github.com/bftledger/bftledger/engine"
	"github.com/bftledger/bftledger/internal/wire"
)

// toyEngine is a trusting-leader protocol, just enough to exercise the
// simulator without PBFT: replica 0 orders txs into batches and broadcasts
// them; everyone delivers batches in height order, asking the leader for a
// height it misses. With lie set, the leader sends odd replicas a different
// batch than even ones, which the checkers must catch.
type toyEngine struct {
	n   int
	lie bool
}

func (e *toyEngine) Name() string                         { return "toy" }
func (e *toyEngine) VerifyProof(c engine.Committed) error { return nil }
func (e *toyEngine) NewReplica(id int, state []Record, applied uint64, st Storage) (Replica, error) {
	return &toyReplica{e: e, id: id, applied: applied, st: st, buffered: make(map[uint64][][]byte)}, nil
}

type toyReplica struct {
	e        *toyEngine
	id       int
	applied  uint64 // delivered (and applied) height
	st       Storage
	pool     [][]byte
	buffered map[uint64][][]byte
	rd       Ready
}

func toyFrame(kind byte, h uint64, txs [][]byte) []byte {
	e := wire.NewEncoder(64)
	e.Uint8(kind)
	e.Uint64(h)
	e.Count(len(txs))
	for _, tx := range txs {
		e.VarBytes(tx)
	}
	return e.Bytes()
}

func (r *toyReplica) Step(from int, frame []byte) error {
	d := wire.NewDecoder(frame)
	kind, h := d.Uint8(), d.Uint64()
	n := d.Count(1024, 4)
	var txs [][]byte
	for range n {
		txs = append(txs, d.VarBytes(maxTxBytes))
	}
	if err := d.Finish(); err != nil {
		return err
	}
	switch kind {
	case 0: // batch
		if h > r.applied {
			r.buffered[h] = txs
			r.deliver()
		}
	case 1: // need h
		if r.id == 0 {
			if c, ok := r.st.Committed(h); ok {
				r.rd.Messages = append(r.rd.Messages, engine.Outbound{To: from, Data: toyFrame(0, h, c.Txs)})
			}
		}
	case 2: // forwarded tx
		return r.Propose(txs[0])
	default:
		return errors.New("toy: bad kind")
	}
	return nil
}

func (r *toyReplica) deliver() {
	for {
		txs, ok := r.buffered[r.applied+1]
		if !ok {
			return
		}
		delete(r.buffered, r.applied+1)
		r.applied++
		r.rd.Committed = append(r.rd.Committed, engine.Committed{Height: r.applied, Txs: txs})
	}
}

func (r *toyReplica) Tick() {
	if r.id != 0 {
		r.rd.Messages = append(r.rd.Messages, engine.Outbound{To: 0, Data: toyFrame(1, r.applied+1, nil)})
		return
	}
	if len(r.pool) == 0 {
		return
	}
	h := r.applied + 1
	txs := r.pool
	r.pool = nil
	r.buffered[h] = txs
	r.deliver()
	if !r.e.lie {
		r.rd.Messages = append(r.rd.Messages, engine.Outbound{To: engine.Broadcast, Data: toyFrame(0, h, txs)})
		return
	}
	alt := append([][]byte{[]byte("forged tx")}, txs...)
	for to := 1; to < r.e.n; to++ {
		b := txs
		if to%2 == 1 {
			b = alt
		}
		r.rd.Messages = append(r.rd.Messages, engine.Outbound{To: to, Data: toyFrame(0, h, b)})
	}
}

func (r *toyReplica) Propose(tx []byte) error {
	if r.id != 0 {
		r.rd.Messages = append(r.rd.Messages, engine.Outbound{To: 0, Data: toyFrame(2, 0, [][]byte{tx})})
		return nil
	}
	for _, p := range r.pool {
		if string(p) == string(tx) {
			return engine.ErrDuplicate
		}
	}
	for h := uint64(1); h <= r.applied; h++ {
		c, _ := r.st.Committed(h)
		for _, p := range c.Txs {
			if string(p) == string(tx) {
				return engine.ErrDuplicate
			}
		}
	}
	r.pool = append(r.pool, tx)
	return nil
}

func (r *toyReplica) Applied(uint64, []byte) {}
func (r *toyReplica) HasReady() bool {
	return len(r.rd.Messages) > 0 || len(r.rd.Committed) > 0 || len(r.rd.Persist) > 0
}
func (r *toyReplica) Ready() Ready { return r.rd }
func (r *toyReplica) Advance()     { r.rd = Ready{} }
func (r *toyReplica) Status() engine.Status {
	return engine.Status{Mode: "toy", Leader: 0, Committed: r.applied}
}
