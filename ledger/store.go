package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/bftledger/bftledger/crypto"
	"github.com/bftledger/bftledger/engine"
)

// Database keys. One byte names the table; fixed-width big-endian suffixes
// keep each table sorted by height, address or hash.
var (
	keyGenesis = []byte("m/genesis") // genesis hash the store was initialised from
	keyHeight  = []byte("m/height")  // u64 last applied height
	keyLanes   = []byte("m/lthash")  // LtHash lane state at that height
)

const (
	prefixBlock   = 'b' // + u64 height   -> Block.Encode()
	prefixAppHash = 'h' // + u64 height   -> 32-byte app hash
	prefixAccount = 'a' // + 20 address   -> u64 balance, u64 nonce
	prefixReceipt = 'r' // + 32 tx hash   -> Receipt.Encode(): the tx index
)

func heightKey(prefix byte, h uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], h)
	return k
}

func accountKey(a crypto.Address) []byte {
	k := make([]byte, 1+crypto.AddressSize)
	k[0] = prefixAccount
	copy(k[1:], a[:])
	return k
}

func receiptKey(h crypto.Hash) []byte {
	k := make([]byte, 1+crypto.HashSize)
	k[0] = prefixReceipt
	copy(k[1:], h[:])
	return k
}

func encodeAccount(a Account) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, a.Balance)
	binary.BigEndian.PutUint64(b[8:], a.Nonce)
	return b
}

func decodeAccount(b []byte) (Account, error) {
	if len(b) != 16 {
		return Account{}, fmt.Errorf("stored account of %d bytes, want 16", len(b))
	}
	return Account{Balance: binary.BigEndian.Uint64(b), Nonce: binary.BigEndian.Uint64(b[8:])}, nil
}

// Config configures a Store. Give either DB, or Dir (and Backend).
type Config struct {
	// Genesis the store is initialised from on first open and checked
	// against on every later open. Required; it must pass Validate.
	Genesis *Genesis
	// DB is an open database the store takes ownership of (Close closes it).
	DB dbm.DB
	// Dir is the directory Open creates the database in (as ledger.db)
	// when DB is nil.
	Dir string
	// Backend is "goleveldb" (the default when empty) or "pebble".
	Backend string
	// Logger receives state transitions at Info and blocks at Debug; nil
	// discards.
	Logger *slog.Logger
}

// Store is the ledger's durable state on cometbft-db: accounts, blocks,
// receipts (the tx index) and the app hash state, advanced one block at a
// time by Apply.
//
// Concurrency: Apply, Restore, Snapshot, TotalSupply and Close are
// serialised by the store. The queries (Height, Block, LatestBlock, Account,
// Receipt, HasTx, AppHash) may run concurrently with them and with each
// other; each sees the state before or after any block, never half of one.
//
// Storage failures are fatal: once a write fails, every later Apply and
// Restore returns that failure, and the owner must stop and reopen the store
// (which then resumes exactly after the last block that was written).
type Store struct {
	db          dbm.DB
	genesis     *Genesis
	chainID     string
	genesisHash crypto.Hash
	log         *slog.Logger

	height atomic.Uint64 // last applied height; written under mu
	closed atomic.Bool

	mu       sync.Mutex // serialises writers; guards the fields below
	lanes    ltHash     // LtHash lane state at height
	lastHash crypto.Hash
	cache    map[crypto.Address]Account // committed accounts, at most accountCacheMax
	x        ltExpander
	failed   error // first storage failure; sticky
}

// Open opens (creating it if needed) the store in dir with the given
// backend, "goleveldb" (or "") or "pebble", initialising it from g on first
// open. It is New(Config{Dir: dir, Backend: backend, Genesis: g}).
func Open(dir string, backend string, g *Genesis) (*Store, error) {
	return New(Config{Dir: dir, Backend: backend, Genesis: g})
}

// NewStore returns a store over db (which it then owns), initialising it
// from g if db is empty. Tests and the simulator use it with dbm.NewMemDB().
func NewStore(db dbm.DB, g *Genesis) (*Store, error) {
	return New(Config{DB: db, Genesis: g})
}

// New opens a store as cfg says. On a database initialised before, it
// checks that the genesis hash matches (ErrGenesisMismatch) and that the
// stored lane state matches the stored app hash, then resumes after the last
// applied block.
func New(cfg Config) (*Store, error) {
	if cfg.Genesis == nil {
		return nil, fmt.Errorf("%w: no genesis", ErrBadGenesis)
	}
	if err := cfg.Genesis.Validate(); err != nil {
		return nil, err
	}
	db := cfg.DB
	if db == nil {
		var err error
		if db, err = openDB(cfg.Dir, cfg.Backend); err != nil {
			return nil, err
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		db:          db,
		genesis:     cfg.Genesis,
		chainID:     cfg.Genesis.ChainID,
		genesisHash: cfg.Genesis.Hash(),
		log:         log,
		cache:       make(map[crypto.Address]Account),
	}
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// load initialises an empty database from genesis, or reads back the state
// of an initialised one.
func (s *Store) load() error {
	stored, err := s.db.Get(keyGenesis)
	if err != nil {
		return fmt.Errorf("ledger: read genesis hash: %w", err)
	}
	if stored == nil {
		return s.initGenesis()
	}
	if string(stored) != string(s.genesisHash[:]) {
		return fmt.Errorf("%w: store has genesis %x, given genesis is %s", ErrGenesisMismatch, stored, s.genesisHash)
	}
	hb, err := s.db.Get(keyHeight)
	if err != nil || len(hb) != 8 {
		return fmt.Errorf("ledger: read height (%d bytes): %w", len(hb), errors.Join(err, ErrBadEncoding))
	}
	height := binary.BigEndian.Uint64(hb)
	lb, err := s.db.Get(keyLanes)
	if err != nil {
		return fmt.Errorf("ledger: read lane state: %w", err)
	}
	if err := s.lanes.setBytes(lb); err != nil {
		return fmt.Errorf("ledger: %w: %w", err, ErrBadEncoding)
	}
	want, err := s.AppHash(height)
	if err != nil {
		return fmt.Errorf("ledger: app hash at height %d: %w", height, err)
	}
	if got := s.lanes.appHash(s.chainID, height); string(got[:]) != string(want) {
		return fmt.Errorf("ledger: lane state gives app hash %s at height %d, stored %x: %w", got, height, want, ErrBadEncoding)
	}
	s.lastHash = s.genesisHash
	if height > 0 {
		b, err := s.Block(height)
		if err != nil {
			return fmt.Errorf("ledger: last block %d: %w", height, err)
		}
		s.lastHash = b.Hash()
	}
	s.height.Store(height)
	s.log.Info("ledger store opened", "height", height, "app_hash", fmt.Sprintf("%x", want))
	return nil
}

// initGenesis writes the genesis state at height 0 in one synced batch.
func (s *Store) initGenesis() error {
	batch := s.db.NewBatch()
	defer batch.Close()
	var lanes ltHash
	var buf []byte
	for _, a := range s.genesis.Accounts {
		acc := Account{Balance: a.Balance}
		buf = accountElem(buf, a.Address, acc)
		lanes.add(s.x.expand(buf))
		if err := batch.Set(accountKey(a.Address), encodeAccount(acc)); err != nil {
			return fmt.Errorf("ledger: init genesis: %w", err)
		}
	}
	appHash := lanes.appHash(s.chainID, 0)
	sets := [][2][]byte{
		{heightKey(prefixAppHash, 0), appHash[:]},
		{keyLanes, lanes.bytes()},
		{keyHeight, make([]byte, 8)},
		{keyGenesis, s.genesisHash[:]},
	}
	for _, kv := range sets {
		if err := batch.Set(kv[0], kv[1]); err != nil {
			return fmt.Errorf("ledger: init genesis: %w", err)
		}
	}
	if err := batch.WriteSync(); err != nil {
		return fmt.Errorf("ledger: init genesis: %w", err)
	}
	s.lanes = lanes
	s.lastHash = s.genesisHash
	s.log.Info("ledger store initialised from genesis", "chain_id", s.chainID,
		"accounts", len(s.genesis.Accounts), "app_hash", appHash.String())
	return nil
}

// Close closes the store and its database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("ledger: close: %w", err)
	}
	return nil
}

// Genesis returns the genesis the store was opened with. The caller must
// not modify it.
func (s *Store) Genesis() *Genesis { return s.genesis }

// ChainID returns the chain id.
func (s *Store) ChainID() string { return s.chainID }

// Height returns the last applied height (0 before the first block).
func (s *Store) Height() uint64 { return s.height.Load() }

// Block returns the block at height h, or an error wrapping ErrNotFound.
func (s *Store) Block(h uint64) (*Block, error) {
	b, err := s.db.Get(heightKey(prefixBlock, h))
	if err != nil {
		return nil, fmt.Errorf("ledger: block %d: %w", h, err)
	}
	if b == nil {
		return nil, fmt.Errorf("block %d: %w", h, ErrNotFound)
	}
	blk, err := DecodeBlock(b)
	if err != nil {
		return nil, fmt.Errorf("ledger: stored block %d: %w", h, err)
	}
	return blk, nil
}

// LatestBlock returns the block at Height(), or an error wrapping
// ErrNotFound before the first block.
func (s *Store) LatestBlock() (*Block, error) { return s.Block(s.Height()) }

// Account returns the committed state of a; an absent account is the zero
// Account and no error.
func (s *Store) Account(a crypto.Address) (Account, error) {
	b, err := s.db.Get(accountKey(a))
	if err != nil {
		return Account{}, fmt.Errorf("ledger: account %s: %w", a, err)
	}
	if b == nil {
		return Account{}, nil
	}
	acc, err := decodeAccount(b)
	if err != nil {
		return Account{}, fmt.Errorf("ledger: account %s: %w: %w", a, err, ErrBadEncoding)
	}
	return acc, nil
}

// Receipt returns the receipt of the tx with hash h, or an error wrapping
// ErrNotFound if it has not been executed.
func (s *Store) Receipt(h crypto.Hash) (*Receipt, error) {
	b, err := s.db.Get(receiptKey(h))
	if err != nil {
		return nil, fmt.Errorf("ledger: receipt %s: %w", h, err)
	}
	if b == nil {
		return nil, fmt.Errorf("receipt %s: %w", h, ErrNotFound)
	}
	r, err := DecodeReceipt(b)
	if err != nil {
		return nil, fmt.Errorf("ledger: stored receipt %s: %w", h, err)
	}
	return r, nil
}

// HasTx reports whether the tx with hash h has been executed (has a
// receipt). A storage error reads as false.
func (s *Store) HasTx(h crypto.Hash) bool {
	ok, err := s.db.Has(receiptKey(h))
	return err == nil && ok
}

// AppHash returns the app hash after height h (h = 0: the genesis state),
// or an error wrapping ErrNotFound for a height not applied, or before a
// snapshot this store was restored from. It implements
// engine.StateMachine.
func (s *Store) AppHash(h uint64) ([]byte, error) {
	b, err := s.db.Get(heightKey(prefixAppHash, h))
	if err != nil {
		return nil, fmt.Errorf("ledger: app hash %d: %w", h, err)
	}
	if b == nil {
		return nil, fmt.Errorf("app hash %d: %w", h, ErrNotFound)
	}
	return b, nil
}

// TotalSupply sums every balance in the store. It reads every account, so
// it is for checks and tests, not the hot path; a correct ledger always
// returns Genesis.TotalSupply().
func (s *Store) TotalSupply() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum uint64
	err := s.iterate(prefixAccount, func(k, v []byte) error {
		acc, err := decodeAccount(v)
		if err != nil {
			return err
		}
		if sum+acc.Balance < sum {
			return fmt.Errorf("balances overflow a uint64")
		}
		sum += acc.Balance
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: total supply: %w", err)
	}
	return sum, nil
}

// iterate calls fn for each key with the one-byte prefix, in key order. The
// slices are valid only during the call.
func (s *Store) iterate(prefix byte, fn func(k, v []byte) error) error {
	it, err := s.db.Iterator([]byte{prefix}, []byte{prefix + 1})
	if err != nil {
		return err
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

// account implements stateReader over the cache, then the database.
func (s *Store) account(a crypto.Address) (Account, error) {
	if acc, ok := s.cache[a]; ok {
		return acc, nil
	}
	acc, err := s.Account(a)
	if err != nil {
		return Account{}, err
	}
	s.cache[a] = acc
	return acc, nil
}

// hasReceipt implements stateReader.
func (s *Store) hasReceipt(h crypto.Hash) (bool, error) {
	ok, err := s.db.Has(receiptKey(h))
	if err != nil {
		return false, fmt.Errorf("ledger: receipt %s: %w", h, err)
	}
	return ok, nil
}

// usable returns why the store cannot be written, if it cannot.
func (s *Store) usable() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.failed
}

var _ engine.StateMachine = (*Store)(nil)

func putUint64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }
