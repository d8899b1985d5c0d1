package pbft

import "github.com/bftledger/bftledger/crypto"

// newViewPlan is what a NEW-VIEW must re-issue, computed from its
// view-changes (§4.4).
type newViewPlan struct {
	minS    uint64        // the highest stable checkpoint among the view-changes
	stable  *ViewChange   // a view-change whose checkpoint proof is for minS (nil if minS == 0)
	digests []crypto.Hash // digests for minS+1, minS+2, ...
	views   []uint64      // the view each digest was prepared in (0 for null)
}

func computeNewViewPlan(vcs []*ViewChange) (newViewPlan, error) {
	return newViewPlan{}, nil
}

func (p newViewPlan) matches(pps []*PrePrepare) error { return nil }
