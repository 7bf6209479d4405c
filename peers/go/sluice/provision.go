package sluice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicepb"
)

// QueueConfig is what Provision creates a queue with.
type QueueConfig struct {
	// StandingBuffer is the window while no worker is live (§5.1; default 0).
	StandingBuffer uint32
	// TokenBatch is the queue's token batch b (§5.3; default 32, a power of two).
	TokenBatch uint32
	// MaxMsgs is the work stream's hard limit for producers that ignore credits (default 100000).
	MaxMsgs int64
	// AckWait is the workers consumer's ack wait (default 30 s).
	AckWait time.Duration
	// MaxMsgSize bounds one stored message (default 1 MiB).
	MaxMsgSize int32
}

// Provision creates the topology of queue q (§2) and its QueueSettings where they are missing,
// and mints the standing buffer on a fresh queue only (§5.5 bootstrap), so running it twice
// adds nothing. Production deployments usually provision with scripts/sluice apply; Provision
// is for tests, examples and services that own their queue.
func Provision(ctx context.Context, js jetstream.JetStream, q string, cfg QueueConfig) error {
	if !ValidQueue(q) {
		return configErr("Provision", "invalid queue name %q", q)
	}
	if cfg.TokenBatch == 0 {
		cfg.TokenBatch = 32
	}
	if !IsPowerOfTwo(cfg.TokenBatch) || cfg.TokenBatch > MaxToken {
		return configErr("Provision", "token batch %d must be a power of two up to %d", cfg.TokenBatch, MaxToken)
	}
	if cfg.MaxMsgs == 0 {
		cfg.MaxMsgs = 100000
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxMsgSize == 0 {
		cfg.MaxMsgSize = 1 << 20
	}
	step := func(what string, err error) error {
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) && !errors.Is(err, jetstream.ErrConsumerExists) {
			return fmt.Errorf("sluice: provisioning %s of queue %s: %w", what, q, err)
		}
		return nil
	}
	ws, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: WorkStream(q), Subjects: []string{WorkSubject(q)},
		Retention: jetstream.WorkQueuePolicy, Discard: jetstream.DiscardNew, MaxMsgs: cfg.MaxMsgs,
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute, MaxMsgSize: cfg.MaxMsgSize})
	if err := step("the work stream", err); err != nil {
		return err
	}
	_, err = ws.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: WorkerConsumer, AckPolicy: jetstream.AckExplicitPolicy,
		MaxDeliver: -1, MaxAckPending: DefaultMaxWindow, AckWait: cfg.AckWait, MaxWaiting: 512})
	if err := step("the workers consumer", err); err != nil {
		return err
	}
	cs, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: CreditStream, Subjects: []string{"sluice.credit.>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	if err := step("the credit stream", err); err != nil {
		return err
	}
	_, err = cs.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: CreditConsumer(q), AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: CreditFilter(q), MaxDeliver: -1, AckWait: 10 * time.Second, MaxWaiting: 512})
	if err := step("the credit consumer", err); err != nil {
		return err
	}
	_, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: CapacityBucket, History: 1, TTL: 60 * time.Second})
	if err := step("the capacity bucket", err); err != nil {
		return err
	}
	ctl, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ControlBucket, History: 1})
	if err := step("the control bucket", err); err != nil {
		return err
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: DLQStream, Subjects: []string{"sluice.dlq.>"},
		Retention: jetstream.LimitsPolicy, MaxAge: 30 * 24 * time.Hour, Duplicates: 10 * time.Minute, Storage: jetstream.FileStorage})
	if err := step("the dead-letter stream", err); err != nil {
		return err
	}
	_, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ProcessedBucket, History: 1, TTL: time.Hour})
	if err := step("the processed bucket", err); err != nil {
		return err
	}
	settings, err := Encode(&sluicepb.QueueSettings{Queue: q, StandingBuffer: cfg.StandingBuffer, TokenBatch: cfg.TokenBatch})
	if err != nil {
		return err
	}
	if _, err := ctl.Put(ctx, QueueSettingsKey(q), settings); err != nil {
		return fmt.Errorf("sluice: writing the settings of queue %s: %w", q, err)
	}
	// Bootstrap only a fresh queue: no stored token, an empty work stream, no reconciler lease.
	tokens, err := StoredCredits(ctx, js, q)
	if err != nil {
		return err
	}
	info, err := ws.Info(ctx)
	if err != nil {
		return err
	}
	_, leaseErr := ctl.Get(ctx, ReconcilerKey(q))
	if tokens > 0 || info.State.Msgs > 0 || !errors.Is(leaseErr, jetstream.ErrKeyNotFound) || cfg.StandingBuffer == 0 {
		return nil
	}
	_, err = newMinter(js, q, "provision").mint(ctx, sluicepb.MintReason_MINT_REASON_BOOTSTRAP, Decompose(cfg.StandingBuffer, cfg.TokenBatch))
	return err
}
