package sluice

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicepb"
)

// errCodeMaxMsgs is JetStream's "maximum messages exceeded" error code: the work stream's wall.
const errCodeMaxMsgs = 10077

func missing(kind, name string, err error) error {
	return &TopologyError{Kind: kind, Name: name, Err: err}
}

func needStream(ctx context.Context, js jetstream.JetStream, name string) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, missing("stream", name, err)
	}
	return s, nil
}

func needConsumer(ctx context.Context, s jetstream.Stream, stream, name string) (jetstream.Consumer, error) {
	c, err := s.Consumer(ctx, name)
	if err != nil {
		return nil, missing("consumer", stream+"/"+name, err)
	}
	return c, nil
}

func needBucket(ctx context.Context, js jetstream.JetStream, name string) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, name)
	if err != nil {
		return nil, missing("KV bucket", name, err)
	}
	return kv, nil
}

// isMaxMsgs reports whether err is JetStream's error 10077 (the stream's max_msgs wall).
func isMaxMsgs(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeMaxMsgs
}

// isAPIError reports whether err is a definite rejection by the JetStream API.
func isAPIError(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr)
}

// minter publishes credit tokens with ids <minter id>.<nonce>.<counter> (§5.4).
type minter struct {
	js     jetstream.JetStream
	queue  string
	by     string
	prefix string
	seq    atomic.Uint64
}

func newMinter(js jetstream.JetStream, queue, by string) *minter {
	return &minter{js: js, queue: queue, by: by, prefix: by + "." + randomHex(4)}
}

// mint publishes tokens of the given values and returns how many credits were stored. A token
// keeps its Nats-Msg-Id across retries, so a retried publish never stores it twice within the
// credit stream's duplicate window.
func (m *minter) mint(ctx context.Context, reason sluicepb.MintReason, values []uint32) (uint32, error) {
	var minted uint32
	for _, n := range values {
		body, err := Encode(&sluicepb.CreditToken{Credits: n, MintedBy: m.by, MintedUnixMs: time.Now().UnixMilli(), Reason: reason})
		if err != nil {
			return minted, err
		}
		id := fmt.Sprintf("%s.%d", m.prefix, m.seq.Add(1))
		msg := &nats.Msg{Subject: CreditSubject(m.queue, n), Data: body, Header: nats.Header{HdrMsgID: []string{id}}}
		if err := publishRetry(ctx, m.js, msg); err != nil {
			return minted, err
		}
		minted += n
	}
	return minted, nil
}

// publishRetry publishes msg until a PubAck arrives, retrying timeouts and transient errors with
// the same message (and so the same Nats-Msg-Id); a JetStream API error ends it.
func publishRetry(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) error {
	wait := 50 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.PublishMsg(pctx, msg)
		cancel()
		if err == nil {
			return nil
		}
		if isAPIError(err) && !isMaxMsgs(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish to %s: %w (last error: %v)", msg.Subject, ctx.Err(), err)
		case <-time.After(wait):
		}
		if wait < time.Second {
			wait *= 2
		}
	}
}

// readAll reads the current values of the keys matching filter; deleted keys are skipped.
func readAll(ctx context.Context, kv jetstream.KeyValue, filter string) ([]jetstream.KeyValueEntry, error) {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok || e == nil {
				return out, nil
			}
			if e.Operation() == jetstream.KeyValuePut {
				out = append(out, e)
			}
		}
	}
}

// liveAdverts reads the live capacity adverts of q.
func liveAdverts(ctx context.Context, kv jetstream.KeyValue, q string) ([]*sluicepb.CapacityAdvert, error) {
	entries, err := readAll(ctx, kv, q+".*")
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixMilli()
	var out []*sluicepb.CapacityAdvert
	for _, e := range entries {
		a, err := DecodeAdvert(e.Value())
		if err == nil && View(a).Live(now) {
			out = append(out, a)
		}
	}
	return out, nil
}

// queueSettings reads q's QueueSettings; nil when the key is absent.
func queueSettings(ctx context.Context, ctl jetstream.KeyValue, q string) (*sluicepb.QueueSettings, error) {
	e, err := ctl.Get(ctx, QueueSettingsKey(q))
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return DecodeQueueSettings(e.Value())
}

// StoredCredits is T for q (§5.3): the credits of every stored token, from per-subject counts.
func StoredCredits(ctx context.Context, js jetstream.JetStream, q string) (uint64, error) {
	s, err := js.Stream(ctx, CreditStream)
	if err != nil {
		return 0, err
	}
	return storedCredits(ctx, s, q)
}
