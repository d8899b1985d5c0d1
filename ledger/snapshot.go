package ledger

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/internal/wire"
)

// SnapshotVersion is the leading byte of snapshot data.
const SnapshotVersion = 1

// SnapshotData is the decoded form of the data Snapshot returns: the whole
// replicated state at a height.
type SnapshotData struct {
	ChainID  string
	Height   uint64
	Block    *Block          // the block at Height; nil at height 0
	Accounts []SnapshotEntry // every non-zero account, by ascending address
	Receipts []*Receipt      // every receipt, by ascending (height, index)
}

// SnapshotEntry is one account in a snapshot.
type SnapshotEntry struct {
	Address crypto.Address
	Account Account
}

// Encode returns the canonical encoding of the snapshot:
//
//	u8 version (1) | u32 len, chain id | u64 height |
//	u32 len, Block.Encode() (empty at height 0) |
//	u32 n, n x (20 address | u64 balance | u64 nonce) |
//	u32 m, m x (u32 len, Receipt.Encode())
func (sd *SnapshotData) Encode() []byte {
	e := wire.NewEncoder(64 + len(sd.Accounts)*accountBytes + len(sd.Receipts)*(4+receiptFixedBytes+32))
	e.Uint8(SnapshotVersion)
	e.String(sd.ChainID)
	e.Uint64(sd.Height)
	if sd.Block != nil {
		e.VarBytes(sd.Block.Encode())
	} else {
		e.VarBytes(nil)
	}
	e.Count(len(sd.Accounts))
	for _, a := range sd.Accounts {
		e.Fixed(a.Address[:])
		e.Uint64(a.Account.Balance)
		e.Uint64(a.Account.Nonce)
	}
	e.Count(len(sd.Receipts))
	for _, r := range sd.Receipts {
		e.VarBytes(r.Encode())
	}
	return e.Bytes()
}

// DecodeSnapshot parses snapshot data strictly: canonical encoding, a block
// present exactly when the height is positive and at that height, accounts
// non-zero and strictly ascending by address, receipts strictly ascending by
// (height, index) and no later than the height. It does not check the app hash; Store.Restore does. An
// engine may use it to check Block.Proof before restoring.
func DecodeSnapshot(b []byte) (*SnapshotData, error) {
	sd, err := decodeSnapshot(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	return sd, nil
}

func decodeSnapshot(b []byte) (*SnapshotData, error) {
	d := wire.NewDecoder(b)
	if v := d.Uint8(); d.Err() == nil && v != SnapshotVersion {
		return nil, fmt.Errorf("version %d, want %d", v, SnapshotVersion)
	}
	sd := &SnapshotData{ChainID: d.String(ChainIDBytesMax), Height: d.Uint64()}
	blk := d.VarBytes(BlockBytesMax)
	if d.Err() == nil && len(blk) > 0 {
		var err error
		if sd.Block, err = DecodeBlock(blk); err != nil {
			return nil, err
		}
	}
	n := d.Count(SnapshotAccountsMax, accountBytes)
	sd.Accounts = make([]SnapshotEntry, n)
	for i := range sd.Accounts {
		a := &sd.Accounts[i]
		copy(a.Address[:], d.Fixed(crypto.AddressSize))
		a.Account.Balance = d.Uint64()
		a.Account.Nonce = d.Uint64()
		if d.Err() != nil {
			break
		}
		if a.Account.IsZero() {
			return nil, fmt.Errorf("account %s is zero", a.Address)
		}
		if i > 0 && bytes.Compare(sd.Accounts[i-1].Address[:], a.Address[:]) >= 0 {
			return nil, fmt.Errorf("account %s out of order", a.Address)
		}
	}
	m := d.Count(SnapshotReceiptsMax, 4+receiptFixedBytes)
	sd.Receipts = make([]*Receipt, 0, m)
	for i := 0; i < m && d.Err() == nil; i++ {
		r, err := DecodeReceipt(d.VarBytes(ReceiptBytesMax))
		if d.Err() != nil {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("receipt %d: %w", i, err)
		}
		if r.Height == 0 || r.Height > sd.Height {
			return nil, fmt.Errorf("receipt %s at height %d in a snapshot at %d", r.TxHash, r.Height, sd.Height)
		}
		if i > 0 && !receiptBefore(sd.Receipts[i-1], r) {
			return nil, fmt.Errorf("receipt %s (height %d, index %d) out of order", r.TxHash, r.Height, r.Index)
		}
		sd.Receipts = append(sd.Receipts, r)
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	if (sd.Height == 0) != (sd.Block == nil) {
		return nil, fmt.Errorf("snapshot at height %d must carry exactly the block at that height", sd.Height)
	}
	if sd.Block != nil && sd.Block.Height != sd.Height {
		return nil, fmt.Errorf("block %d in a snapshot at height %d", sd.Block.Height, sd.Height)
	}
	return sd, nil
}

// Snapshot returns the whole state at the last applied height: the height,
// its app hash, and SnapshotData.Encode() of the block at that height, every
// account and every receipt. It implements engine.StateMachine.
//
// The data grows with every tx ever executed (receipts are state: see
// lthash.go); at about 60 bytes a tx (57 for a successful one) it suits
// networks of modest history: 28 MiB holds about 480,000 txs. TODO: bound
// it, e.g. with txs that expire after a height horizon so that older
// receipts can be pruned (#2).
func (s *Store) Snapshot() (uint64, []byte, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return 0, nil, nil, ErrClosed
	}
	height := s.height.Load()
	sd := &SnapshotData{ChainID: s.chainID, Height: height}
	if height > 0 {
		blk, err := s.Block(height)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("ledger: snapshot: %w", err)
		}
		sd.Block = blk
	}
	err := s.iterate(prefixAccount, func(k, v []byte) error {
		acc, err := decodeAccount(v)
		if err != nil || len(k) != 1+crypto.AddressSize {
			return fmt.Errorf("stored account %x: %w", k, ErrBadEncoding)
		}
		var e SnapshotEntry
		copy(e.Address[:], k[1:])
		e.Account = acc
		sd.Accounts = append(sd.Accounts, e)
		return nil
	})
	if err == nil {
		err = s.iterate(prefixReceipt, func(k, v []byte) error {
			r, err := DecodeReceipt(v)
			if err != nil {
				return fmt.Errorf("stored receipt %x: %w", k, err)
			}
			sd.Receipts = append(sd.Receipts, r)
			return nil
		})
	}
	if err != nil {
		return 0, nil, nil, fmt.Errorf("ledger: snapshot: %w", err)
	}
	slices.SortFunc(sd.Receipts, func(a, b *Receipt) int {
		return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.Index, b.Index))
	})
	appHash := s.lanes.appHash(s.chainID, height)
	return height, appHash[:], sd.Encode(), nil
}

// Restore replaces the whole state with snapshot data taken at height on
// this chain, after checking it: it must decode (DecodeSnapshot), be for
// this chain and height, carry a block whose AppHash is appHash, hold
// exactly the genesis total supply, and its accounts and receipts must sum
// (LtHash) to appHash at height. Any failure wraps ErrBadSnapshot (or
// ErrWrongChain) and changes nothing. It implements engine.StateMachine.
//
// The replacement is one synced batch: accounts and receipts are replaced
// wholesale, blocks and app hashes above height are deleted, and the
// snapshot's block becomes the last block. Blocks (and app hashes) below
// height that this store never applied are absent afterwards: Block and
// AppHash return ErrNotFound for them.
func (s *Store) Restore(height uint64, appHash []byte, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	sd, err := DecodeSnapshot(data)
	if err != nil {
		return err
	}
	if sd.ChainID != s.chainID {
		return fmt.Errorf("snapshot for chain %q on chain %q: %w", sd.ChainID, s.chainID, ErrWrongChain)
	}
	if sd.Height != height {
		return fmt.Errorf("%w: data for height %d, asked to restore %d", ErrBadSnapshot, sd.Height, height)
	}
	lanes, err := s.verifySnapshot(sd, appHash)
	if err != nil {
		return fmt.Errorf("%w: height %d: %w", ErrBadSnapshot, height, err)
	}
	if err := s.replaceState(sd, lanes); err != nil {
		return s.fail(fmt.Errorf("restore height %d: %w", height, err))
	}
	s.log.Info("ledger restored from snapshot", "height", height, "accounts", len(sd.Accounts),
		"receipts", len(sd.Receipts), "app_hash", fmt.Sprintf("%x", appHash))
	return nil
}

// verifySnapshot recomputes the lane state of sd and checks it against
// appHash; it returns the lanes.
func (s *Store) verifySnapshot(sd *SnapshotData, appHash []byte) (*ltHash, error) {
	if len(appHash) != crypto.HashSize {
		return nil, fmt.Errorf("app hash of %d bytes", len(appHash))
	}
	if sd.Block != nil && !bytes.Equal(sd.Block.AppHash[:], appHash) {
		return nil, fmt.Errorf("block app hash %s, want %x", sd.Block.AppHash, appHash)
	}
	var lanes ltHash
	var buf []byte
	var supply uint64
	for _, e := range sd.Accounts {
		if supply+e.Account.Balance < supply {
			return nil, fmt.Errorf("balances overflow a uint64")
		}
		supply += e.Account.Balance
		buf = accountElem(buf, e.Address, e.Account)
		lanes.add(s.x.expand(buf))
	}
	if want := s.genesis.TotalSupply(); supply != want {
		return nil, fmt.Errorf("total supply %d, genesis has %d", supply, want)
	}
	// Receipts come grouped by height, in index order: one element each.
	var encs [][]byte
	for i, r := range sd.Receipts {
		encs = append(encs, r.Encode())
		if i+1 == len(sd.Receipts) || sd.Receipts[i+1].Height != r.Height {
			buf = receiptsElem(buf, r.Height, encs)
			lanes.add(s.x.expand(buf))
			encs = encs[:0]
		}
	}
	if got := lanes.appHash(s.chainID, sd.Height); !bytes.Equal(got[:], appHash) {
		return nil, fmt.Errorf("state sums to app hash %s, want %x", got, appHash)
	}
	return &lanes, nil
}

// replaceState writes sd as the whole state in one synced batch and adopts
// it in memory.
func (s *Store) replaceState(sd *SnapshotData, lanes *ltHash) error {
	batch := s.db.NewBatch()
	defer batch.Close()
	del := func(k, _ []byte) error { return batch.Delete(bytes.Clone(k)) }
	if err := s.iterate(prefixAccount, del); err != nil {
		return err
	}
	if err := s.iterate(prefixReceipt, del); err != nil {
		return err
	}
	for _, p := range []byte{prefixBlock, prefixAppHash} {
		it, err := s.db.Iterator(heightKey(p, sd.Height+1), []byte{p + 1})
		if err != nil {
			return err
		}
		for ; it.Valid(); it.Next() {
			if err := batch.Delete(bytes.Clone(it.Key())); err != nil {
				it.Close()
				return err
			}
		}
		err = it.Error()
		it.Close()
		if err != nil {
			return err
		}
	}
	for _, e := range sd.Accounts {
		if err := batch.Set(accountKey(e.Address), encodeAccount(e.Account)); err != nil {
			return err
		}
	}
	for _, r := range sd.Receipts {
		if err := batch.Set(receiptKey(r.TxHash), r.Encode()); err != nil {
			return err
		}
	}
	lastHash := s.genesisHash
	if sd.Block != nil {
		if err := s.writeHead(batch, sd.Block, lanes); err != nil {
			return err
		}
		lastHash = sd.Block.Hash()
	} else {
		ah := lanes.appHash(s.chainID, 0)
		for _, kv := range [][2][]byte{
			{heightKey(prefixAppHash, 0), ah[:]},
			{keyLanes, lanes.bytes()},
			{keyHeight, binary.BigEndian.AppendUint64(nil, 0)},
		} {
			if err := batch.Set(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	if err := batch.WriteSync(); err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	s.lanes = *lanes
	s.lastHash = lastHash
	clear(s.cache)
	s.height.Store(sd.Height)
	return nil
}

// receiptBefore reports whether a precedes b in snapshot order.
func receiptBefore(a, b *Receipt) bool {
	return a.Height < b.Height || a.Height == b.Height && a.Index < b.Index
}
