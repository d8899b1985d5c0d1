package ledger

import (
	"fmt"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	dbm "github.com/cometbft/cometbft-db"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// Database backends Open accepts.
const (
	BackendGoLevelDB = "goleveldb"
	BackendPebble    = "pebble"
)

// dbName is the database's name inside the store directory.
const dbName = "ledger"

// bloomBitsPerKey sizes the bloom filters that let a lookup of an absent
// key (a new tx's receipt, a new account) skip the disk. Execution makes two
// or three such lookups per tx.
const bloomBitsPerKey = 10

// openDB opens the named backend in dir with bloom filters on.
func openDB(dir, backend string) (dbm.DB, error) {
	if dir == "" {
		return nil, fmt.Errorf("ledger: no database directory")
	}
	switch backend {
	case "", BackendGoLevelDB:
		db, err := dbm.NewGoLevelDBWithOpts(dbName, dir, &opt.Options{
			Filter: filter.NewBloomFilter(bloomBitsPerKey),
		})
		if err != nil {
			return nil, fmt.Errorf("ledger: open goleveldb in %s: %w", dir, err)
		}
		return db, nil
	case BackendPebble, string(dbm.PebbleDBBackend):
		opts := &pebble.Options{}
		opts.EnsureDefaults()
		for i := range opts.Levels {
			opts.Levels[i].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
			opts.Levels[i].FilterType = pebble.TableFilter
		}
		db, err := dbm.NewPebbleDBWithOpts(dbName, dir, opts)
		if err != nil {
			return nil, fmt.Errorf("ledger: open pebble in %s: %w", dir, err)
		}
		return db, nil
	}
	return nil, fmt.Errorf("%w %q: want %q or %q", ErrUnknownBackend, backend, BackendGoLevelDB, BackendPebble)
}
