// Package queue is izin's durable command queue on Redis Streams.
//
// Intake adapters (SMPP, SMTP, IVR, the provider API) call Enqueue and
// acknowledge their peer only after it returns nil; core workers Read
// batches through a consumer group, apply them, then Ack. Payloads are opaque
// bytes: callers serialise, and give each command an idempotency key, because
// delivery is at-least-once (a worker that dies after applying but before Ack
// gets its batch delivered again).
//
// EnqueueOnce is Enqueue guarded by a caller's dedupe key: one script
// checks the key, appends the entry and marks the key done, so that a
// peer's redelivery enqueues nothing twice; concurrent calls share one
// pipelined round trip (group commit), each returning once its own entry
// is in Redis.
//
// Redis 7.0 or later is required (XINFO GROUPS lag, "#!lua" script flags,
// XPENDING IDLE and exclusive ranges).
//
// # A worker
//
//	c := q.Consumer(host + ":" + pid)
//	for ctx.Err() == nil {
//		msgs, err := c.Read(ctx, 500, 2*time.Second)
//		// apply msgs in one transaction; c.DeadLetter those that can
//		// never apply; c.Ack the rest. On a temporary failure ack
//		// nothing: the batch is redelivered after ClaimIdle.
//		// Every ClaimIdle or so: c.Reclaim(ctx, 500) and apply those too.
//	}
//
// # Keys
//
// Each stream entry holds one field, "payload". Acked entries are deleted
// (XACK + XDEL), so the stream only holds entries that are pending or not yet
// delivered and never needs trimming; Enqueue never uses MAXLEN, which would
// drop unconsumed entries. Entries that fail MaxDeliveries times, or that a
// worker gives up on, move to DeadStream with fields payload, reason,
// original_id, failed_at (RFC 3339, UTC) and deliveries.
//
// # Durability
//
// "Durably enqueued" means Redis appended the XADD to its append-only file
// (https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/):
// with appendfsync everysec it survives a killed Redis process, with always
// also a lost machine. CheckDurability refuses a Redis that keeps nothing on
// disk or may evict keys; callers skip it only when configured
// allow_volatile (a throw-away setup).
//
// # Redis Cluster
//
// DeadLetter and DeadReplay touch Stream and DeadStream in one atomic
// script, which Redis Cluster allows only within one hash slot: on a
// cluster, name them with a common hash tag, e.g. Stream
// "{izin}:commands" (DeadStream then defaults to "{izin}:commands:dead").
// EnqueueOnce's key must carry the same hash tag.
package queue
