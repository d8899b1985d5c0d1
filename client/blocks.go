package client

import (
	"context"
	"fmt"
	"strconv"

	"github.com/bftledger/bftledger/ledger"
	"github.com/bftledger/bftledger/pbft"
)

// Block fetches the block at height from node (height 0: the latest) and
// checks it: every tx hash against its tx, and in PBFT mode the commit
// certificate (2f+1 signed COMMITs for this height and batch) against the
// genesis validators, setting Certified. A block that arrives but does not
// verify is returned together with an error wrapping ErrBadCertificate, so
// callers can show what the node claimed. Raft blocks carry no certificate
// a client can check (crash-fault model); Certified stays false for them.
func (c *Client) Block(ctx context.Context, node int, height uint64) (*Block, error) {
	path := "/v1/blocks/latest"
	if height > 0 {
		path = "/v1/blocks/" + strconv.FormatUint(height, 10)
	}
	var b Block
	if _, err := c.do(ctx, node, request{method: "GET", path: path, maxResp: blockResponseBytesMax}, &b); err != nil {
		return nil, err
	}
	if height > 0 && b.Height != height {
		return nil, fmt.Errorf("%w: %s: asked for block %d, got %d", ErrBadResponse, c.nodes[node], height, b.Height)
	}
	if err := c.VerifyBlock(&b); err != nil {
		return &b, fmt.Errorf("%s: %w", c.nodes[node], err)
	}
	return &b, nil
}

// VerifyBlock checks b as Block does and sets b.Certified when its PBFT
// commit certificate verifies. Errors wrap ErrBadCertificate.
func (c *Client) VerifyBlock(b *Block) error {
	b.Certified = false
	if len(b.TxHashes) != len(b.Txs) {
		return fmt.Errorf("%w: block %d lists %d tx hashes for %d txs", ErrBadCertificate, b.Height, len(b.TxHashes), len(b.Txs))
	}
	for i, tx := range b.Txs {
		if ledger.TxHash(tx) != b.TxHashes[i] {
			return fmt.Errorf("%w: block %d: tx %d does not hash to %s", ErrBadCertificate, b.Height, i, b.TxHashes[i])
		}
	}
	txs := b.RawTxs()
	if root := ledger.TxRoot(txs); root != b.TxRoot {
		return fmt.Errorf("%w: block %d: tx root %s, the txs give %s", ErrBadCertificate, b.Height, b.TxRoot, root)
	}
	hdr := ledger.Block{Height: b.Height, PrevHash: b.PrevHash, TxRoot: b.TxRoot, AppHash: b.AppHash, Proposer: b.Proposer, Round: b.Round, Txs: txs}
	if h := hdr.Hash(); h != b.Hash {
		return fmt.Errorf("%w: block %d: hash %s, the header gives %s", ErrBadCertificate, b.Height, b.Hash, h)
	}
	if c.opts.Mode != "pbft" {
		return nil
	}
	if len(c.opts.Validators) == 0 {
		return fmt.Errorf("%w: no genesis validators to verify block %d against", ErrConfig, b.Height)
	}
	if err := pbft.VerifyCommitCertificate(c.opts.ChainID, c.opts.Validators, b.Height, txs, b.Proof); err != nil {
		return fmt.Errorf("%w: block %d: %w", ErrBadCertificate, b.Height, err)
	}
	b.Certified = true
	return nil
}
