package peer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// ErrCodeMaxMsgs is JetStream's "maximum messages exceeded" error code: the work stream's wall.
const ErrCodeMaxMsgs = 10077

func connect(server, name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(server, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", server, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func missing(kind, name string, err error) error {
	return fmt.Errorf("%s %s: %v: run provisioning (scripts/sluice apply or Sluice.provision)", kind, name, err)
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
	return errors.As(err, &apiErr) && apiErr.ErrorCode == ErrCodeMaxMsgs
}

// isAPIError reports whether err is a definite rejection by the JetStream API.
func isAPIError(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr)
}

// mintTokens publishes tokens of the given values for q and returns how many credits were
// stored. Each token has its own Nats-Msg-Id, reused on retries, so a retried publish never
// stores a token twice within the credit stream's duplicate window.
func mintTokens(ctx context.Context, js jetstream.JetStream, q, by string, reason sluicepb.MintReason, values []uint32, idPrefix string, next func() uint64) (uint32, error) {
	var minted uint32
	for _, n := range values {
		body, err := sluice.Encode(&sluicepb.CreditToken{Credits: n, MintedBy: by, MintedUnixMs: time.Now().UnixMilli(), Reason: reason})
		if err != nil {
			return minted, err
		}
		id := fmt.Sprintf("%s.%d", idPrefix, next())
		msg := &nats.Msg{Subject: sluice.CreditSubject(q, n), Data: body, Header: nats.Header{sluice.HdrMsgID: []string{id}}}
		if err := publishRetry(ctx, js, msg); err != nil {
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

// liveAdverts reads the live capacity adverts of q.
func liveAdverts(ctx context.Context, kv jetstream.KeyValue, q string) ([]*sluicepb.CapacityAdvert, error) {
	w, err := kv.Watch(ctx, q+".*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	now := time.Now().UnixMilli()
	var out []*sluicepb.CapacityAdvert
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok || e == nil {
				return out, nil
			}
			if e.Operation() != jetstream.KeyValuePut {
				continue
			}
			a, err := sluice.DecodeAdvert(e.Value())
			if err != nil {
				continue
			}
			if sluice.View(a).Live(now) {
				out = append(out, a)
			}
		}
	}
}
