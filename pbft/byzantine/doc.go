// Package byzantine turns an honest PBFT replica into a faulty one, for the
// simulator (internal/sim) and for a real node started with the explicit
// unsafe setting `[unsafe] byzantine = "<behaviour>"`.
//
// A faulty replica is an honest *pbft.Core wrapped by Wrap: the core runs the
// protocol as usual, and a Behaviour rewrites what it sends. Mutations are
// made on copies of the core's messages and re-signed with the faulty
// replica's OWN key (pbft.Sign), so they pass the signature check and test
// the protocol's logic — except where forging is the point (bad-signature,
// forge-sender, fabricated certificates), where the honest replicas'
// verification must refuse them. Records to persist and committed batches
// pass through unchanged: a faulty replica keeps its own state consistent,
// it only lies to others.
//
// The behaviours (Behaviours lists their names; Parse builds one):
//
//	equivocate         as primary, PRE-PREPAREs for two different batches to two
//	                   groups of backups; PREPARE/COMMIT for two digests
//	silent             sends nothing at all
//	bad-signature      corrupts the signature of half its messages (or of a
//	                   certificate embedded in them)
//	forge-sender       half its messages claim another replica's index
//	replay             re-sends old messages, and copies of new ones moved to
//	                   stale views and sequence numbers
//	seq-skip           as primary, sends a subset of backups PRE-PREPAREs at
//	                   sequence numbers beyond the window or past a gap
//	lie-checkpoint     CHECKPOINTs with a wrong app hash
//	forge-view-change  VIEW-CHANGEs with fabricated or altered prepared
//	                   certificates
//	bad-new-view       as new primary, NEW-VIEWs that drop or alter a batch
//	view-inflation     VIEW-CHANGEs for a view far ahead
//	censor             never orders (nor relays) one client's txs
//
// A Replica has the methods of *pbft.Core, so a node or a simulator drives
// either the same way. It starts no goroutine and reads no clock: its
// randomness comes from the rng given to Wrap.
package byzantine
