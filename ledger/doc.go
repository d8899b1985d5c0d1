// Package ledger is bftledger's replicated state machine: accounts, signed
// transfers, blocks, receipts, the app hash, and the store that keeps them.
// Both consensus engines feed it the same way and neither knows what a
// transfer is.
//
// # Lifecycle of a tx
//
//  1. A client builds and signs a transfer with NewTransfer and sends
//     tx.Encode() to a replica.
//  2. The replica admits it with CheckTx(chainID, b): size, strict decoding,
//     chain id, amount > 0 and the Ed25519 signature. CheckTx is stateless
//     and safe for concurrent use, so the node runs it in a worker pool.
//  3. An engine orders admitted txs into batches and hands each committed
//     batch (engine.Committed) to Store.Apply, strictly in height order.
//  4. Apply executes the batch deterministically and writes the block, the
//     receipts, the changed accounts, the app hash state and the height in one
//     synced database batch. The receipts come back to the node, which signs
//     them (ReceiptSignBytes) for clients.
//
// # Accounts and nonces
//
// An account is an address (crypto.AddressOf the sender's public key) with
// a balance and a nonce, both uint64. The nonce counts the transfers the
// account has sent successfully and starts at 0: a tx applies only if its
// Nonce equals the sender's current nonce, so the first transfer carries 0.
// A failed tx does not consume its nonce. Together with skipping any tx whose
// hash already has a receipt, this gives exactly-once execution per
// (sender, nonce), and a retried tx gets its original receipt back.
//
// # Execution rules
//
// For each tx of a batch, in order (see execute):
//
//   - a tx whose hash already has a receipt (from an earlier block, or an
//     earlier position in this batch) is skipped: no receipt, no change;
//   - otherwise it gets a receipt: CodeBadEncoding if it does not decode,
//     CodeWrongChain, CodeBadAmount for zero, CodeBadNonce unless the nonce
//     is the sender's next, CodeInsufficientFunds if the amount exceeds the
//     balance, CodeOverflow if a balance or nonce would wrap; else CodeOK;
//   - a failing tx changes nothing, and later txs run regardless.
//
// No tx creates or destroys money: the total supply is fixed by genesis.
// A self-transfer is allowed and only advances the nonce.
//
// # Encodings
//
// Everything signed, hashed or sent uses the canonical binary codec of
// internal/wire: fixed-width big-endian integers, length-prefixed bytes
// with limits checked before allocation (limits.go), a leading version
// byte, and strict decoding that rejects trailing bytes. A tx's hash is
// SHA-256 of its encoding; a block's hash covers the header fields every
// honest replica agrees on: height, previous hash, TxRoot (an RFC 6962
// Merkle root over the tx hashes), app hash and tx count. The engine's
// proof, proposer and round are carried but not hashed (see Block.Hash).
// Genesis is JSON (genesis.json), parsed strictly.
//
// # App hash
//
// The app hash after each block is SHA-256 of the chain id, the height and
// an LtHash (homomorphic multiset hash) of every non-zero account and every
// receipt; see lthash.go. A block updates it in time proportional to the
// accounts and txs it touches, and Restore verifies a whole snapshot
// against it. PBFT checkpoints carry it; Raft snapshots record it.
//
// # Storage
//
// Open stores the ledger in cometbft-db (goleveldb by default, pebble
// selectable); NewStore takes any cometbft-db database, such as a MemDB for
// tests and simulation. A crash at any point leaves the store at the last
// block whose batch was written, and reopening resumes after it. A storage
// failure is fatal to the caller: stop, and reopen.
package ledger
