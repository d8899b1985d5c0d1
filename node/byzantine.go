package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bftledger/bftledger/pbft"
	"github.com/bftledger/bftledger/pbft/byzantine"
)

// byzantineWarning is logged at ERROR level at start and every
// byzantineLogInterval by a node running a Byzantine test behaviour.
const byzantineWarning = "THIS NODE IS BYZANTINE (unsafe test setting)"

// wrapByzantine wraps the honest core with the named behaviour from
// pbft/byzantine. Its randomness is seeded from the clock: a real node's
// faults need not replay (the simulator's do).
func (n *Node) wrapByzantine(core *pbft.Core, name string) (pbftReplica, error) {
	b, err := byzantine.Parse(name)
	if err != nil {
		return nil, fmt.Errorf("%w: unsafe.byzantine %q: %w", ErrConfig, name, err)
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, uint64(n.index)))
	rep := byzantine.Wrap(core, b, n.home.Key, n.chainID, len(n.home.Genesis.Validators), rng)
	n.log.Error(byzantineWarning, "behaviour", name, "seed", seed)
	return rep, nil
}

// warnByzantine repeats the Byzantine warning until ctx ends.
func (n *Node) warnByzantine(ctx context.Context) error {
	t := time.NewTicker(byzantineLogInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			n.log.Error(byzantineWarning, "behaviour", n.cfg.Unsafe.Byzantine)
		}
	}
}
