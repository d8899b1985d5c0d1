package raft

import (
	"encoding/binary"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"
	"google.golang.org/protobuf/proto"

	etcdraft "go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Keys in Config.DB. Every key of this package starts with "raft/".
var (
	keyHardState   = []byte("raft/hardstate")
	keySnapshot    = []byte("raft/snapshot")
	keyEntryPrefix = []byte("raft/entry/")
)

// entryKey is keyEntryPrefix followed by the big-endian index, so that
// keys sort in log order.
func entryKey(index uint64) []byte {
	k := make([]byte, len(keyEntryPrefix)+8)
	copy(k, keyEntryPrefix)
	binary.BigEndian.PutUint64(k[len(keyEntryPrefix):], index)
	return k
}

// store is the durable copy of the raft state in Config.DB plus the etcd
// MemoryStorage raft reads from. The log in memory holds the entries since
// the latest compaction (at most about 1.5 x SnapshotInterval entries); the
// database holds the same entries and possibly a few older ones.
//
// Writes go to the database first (one batch), then to memory, so memory
// never holds anything that is not durable.
type store struct {
	db  dbm.DB
	mem *etcdraft.MemoryStorage
	// cs is the configuration reported by InitialState when no snapshot
	// with a configuration is stored: all validators as voters.
	cs *pb.ConfState
	// first and last are the lowest and highest entry indexes in the
	// database; last < first when it holds none.
	first, last uint64
}

// InitialState implements etcdraft.Storage. It reports the bootstrap
// configuration until a snapshot carries one.
func (s *store) InitialState() (*pb.HardState, *pb.ConfState, error) {
	hs, cs, err := s.mem.InitialState()
	if err != nil {
		return nil, nil, err
	}
	if len(cs.GetVoters()) == 0 {
		cs = s.cs
	}
	return hs, cs, nil
}

// Entries implements etcdraft.Storage.
func (s *store) Entries(lo, hi, maxSize uint64) ([]*pb.Entry, error) {
	return s.mem.Entries(lo, hi, maxSize)
}

// Term implements etcdraft.Storage.
func (s *store) Term(i uint64) (uint64, error) { return s.mem.Term(i) }

// LastIndex implements etcdraft.Storage.
func (s *store) LastIndex() (uint64, error) { return s.mem.LastIndex() }

// FirstIndex implements etcdraft.Storage.
func (s *store) FirstIndex() (uint64, error) { return s.mem.FirstIndex() }

// Snapshot implements etcdraft.Storage.
func (s *store) Snapshot() (*pb.Snapshot, error) {
	snap, err := s.mem.Snapshot()
	if err != nil {
		return nil, err
	}
	if len(snap.GetMetadata().GetConfState().GetVoters()) == 0 {
		snap.Metadata.ConfState = proto.Clone(s.cs).(*pb.ConfState)
	}
	return snap, nil
}

// loaded is the raft state read back from the database at start.
type loaded struct {
	hs      *pb.HardState // nil if never written
	snap    *pb.Snapshot  // nil if never written
	entries []*pb.Entry   // after the snapshot, in index order
}

// load reads the stored state into s.mem and returns it. It checks that the
// entries are contiguous and follow the snapshot.
func (s *store) load() (loaded, error) {
	var l loaded
	if b, err := s.db.Get(keySnapshot); err != nil {
		return l, fmt.Errorf("raft: read snapshot: %w", err)
	} else if b != nil {
		l.snap = new(pb.Snapshot)
		if err := proto.Unmarshal(b, l.snap); err != nil {
			return l, fmt.Errorf("stored snapshot: %w: %w", ErrCorrupt, err)
		}
		if _, err := decodeSnapshot(l.snap.GetData()); err != nil {
			return l, fmt.Errorf("stored snapshot: %w: %w", ErrCorrupt, err)
		}
	}
	if b, err := s.db.Get(keyHardState); err != nil {
		return l, fmt.Errorf("raft: read hard state: %w", err)
	} else if b != nil {
		l.hs = new(pb.HardState)
		if err := proto.Unmarshal(b, l.hs); err != nil {
			return l, fmt.Errorf("stored hard state: %w: %w", ErrCorrupt, err)
		}
	}
	snapIndex := l.snap.GetMetadata().GetIndex()
	if err := s.loadEntries(&l, snapIndex); err != nil {
		return l, err
	}
	if l.snap != nil {
		if err := s.mem.ApplySnapshot(l.snap); err != nil {
			return l, fmt.Errorf("stored snapshot: %w: %w", ErrCorrupt, err)
		}
	}
	if err := s.mem.Append(l.entries); err != nil {
		return l, fmt.Errorf("stored entries: %w: %w", ErrCorrupt, err)
	}
	if l.hs != nil {
		last := snapIndex + uint64(len(l.entries))
		if c := l.hs.GetCommit(); c < snapIndex || c > last {
			return l, fmt.Errorf("commit %d outside [%d, %d]: %w", c, snapIndex, last, ErrCorrupt)
		}
		if err := s.mem.SetHardState(l.hs); err != nil {
			return l, err
		}
	}
	return l, nil
}

// loadEntries reads every stored entry, keeps those after snapIndex and
// records the stored range.
func (s *store) loadEntries(l *loaded, snapIndex uint64) error {
	end := append([]byte(nil), keyEntryPrefix...)
	end[len(end)-1]++
	it, err := s.db.Iterator(keyEntryPrefix, end)
	if err != nil {
		return fmt.Errorf("raft: read entries: %w", err)
	}
	defer it.Close()
	s.first, s.last = 1, 0
	for ; it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != len(keyEntryPrefix)+8 {
			return fmt.Errorf("entry key %x: %w", k, ErrCorrupt)
		}
		index := binary.BigEndian.Uint64(k[len(keyEntryPrefix):])
		if s.last >= s.first && index != s.last+1 {
			return fmt.Errorf("entry %d after %d: %w", index, s.last, ErrCorrupt)
		}
		if s.last < s.first {
			s.first = index
		}
		s.last = index
		if index <= snapIndex {
			continue
		}
		ent := new(pb.Entry)
		if err := proto.Unmarshal(it.Value(), ent); err != nil || ent.GetIndex() != index {
			return fmt.Errorf("entry %d: %w: %v", index, ErrCorrupt, err)
		}
		if len(l.entries) == 0 && index != snapIndex+1 {
			return fmt.Errorf("first entry %d after snapshot %d: %w", index, snapIndex, ErrCorrupt)
		}
		l.entries = append(l.entries, ent)
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("raft: read entries: %w", err)
	}
	return nil
}

// deleteRange adds deletes of the stored entries in [lo, hi] to b.
func deleteRange(b dbm.Batch, lo, hi uint64) error {
	for i := lo; i <= hi && i >= lo; i++ {
		if err := b.Delete(entryKey(i)); err != nil {
			return err
		}
	}
	return nil
}

// save makes a Ready's state durable: the snapshot (replacing the whole
// log), the entries (replacing any stored suffix they conflict with) and the
// HardState, in one database batch, synced if sync. Then it updates memory.
func (s *store) save(hs *pb.HardState, ents []*pb.Entry, snap *pb.Snapshot, sync bool) error {
	b := s.db.NewBatch()
	defer b.Close()
	first, last := s.first, s.last
	if snap != nil {
		v, err := proto.Marshal(snap)
		if err != nil {
			return fmt.Errorf("raft: encode snapshot: %w", err)
		}
		if err := b.Set(keySnapshot, v); err != nil {
			return fmt.Errorf("raft: save snapshot: %w", err)
		}
		if last >= first {
			if err := deleteRange(b, first, last); err != nil {
				return fmt.Errorf("raft: save snapshot: %w", err)
			}
		}
		first, last = snap.GetMetadata().GetIndex()+1, snap.GetMetadata().GetIndex()
	}
	if len(ents) > 0 {
		lo, hi := ents[0].GetIndex(), ents[len(ents)-1].GetIndex()
		for _, ent := range ents {
			v, err := proto.Marshal(ent)
			if err != nil {
				return fmt.Errorf("raft: encode entry %d: %w", ent.GetIndex(), err)
			}
			if err := b.Set(entryKey(ent.GetIndex()), v); err != nil {
				return fmt.Errorf("raft: save entry %d: %w", ent.GetIndex(), err)
			}
		}
		if last > hi {
			if err := deleteRange(b, hi+1, last); err != nil {
				return fmt.Errorf("raft: truncate log: %w", err)
			}
		}
		if last < first || lo < first {
			first = lo
		}
		last = hi
	}
	if hs != nil {
		v, err := proto.Marshal(hs)
		if err != nil {
			return fmt.Errorf("raft: encode hard state: %w", err)
		}
		if err := b.Set(keyHardState, v); err != nil {
			return fmt.Errorf("raft: save hard state: %w", err)
		}
	}
	write := b.Write
	if sync || snap != nil {
		write = b.WriteSync
	}
	if err := write(); err != nil {
		return fmt.Errorf("raft: write: %w", err)
	}
	s.first, s.last = first, last
	if snap != nil {
		if err := s.mem.ApplySnapshot(snap); err != nil {
			return fmt.Errorf("raft: apply snapshot %d: %w", snap.GetMetadata().GetIndex(), err)
		}
	}
	if err := s.mem.Append(ents); err != nil {
		return fmt.Errorf("raft: append: %w", err)
	}
	if hs != nil {
		if err := s.mem.SetHardState(hs); err != nil {
			return err
		}
	}
	return nil
}

// compact records a snapshot of our own at snapshot index and drops the
// stored entries up to compactTo (< index, so a follower a little behind
// still gets entries rather than a snapshot), synced, then does the same in
// memory.
func (s *store) compact(index uint64, cs *pb.ConfState, data []byte, compactTo uint64) error {
	snap, err := s.mem.CreateSnapshot(index, cs, data)
	if err != nil {
		return fmt.Errorf("raft: create snapshot %d: %w", index, err)
	}
	v, err := proto.Marshal(snap)
	if err != nil {
		return fmt.Errorf("raft: encode snapshot: %w", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Set(keySnapshot, v); err != nil {
		return fmt.Errorf("raft: save snapshot: %w", err)
	}
	first := s.first
	if compactTo >= s.first && s.last >= s.first {
		if err := deleteRange(b, s.first, compactTo); err != nil {
			return fmt.Errorf("raft: compact: %w", err)
		}
		first = compactTo + 1
	}
	if err := b.WriteSync(); err != nil {
		return fmt.Errorf("raft: write snapshot: %w", err)
	}
	s.first = first
	memFirst, _ := s.mem.FirstIndex()
	if compactTo >= memFirst {
		if err := s.mem.Compact(compactTo); err != nil {
			return fmt.Errorf("raft: compact memory to %d: %w", compactTo, err)
		}
	}
	return nil
}
