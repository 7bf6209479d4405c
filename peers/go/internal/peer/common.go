package peer

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func connect(server, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(server, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", server, err)
	}
	return nc, nil
}

func needStream(ctx context.Context, js jetstream.JetStream, name string) error {
	if _, err := js.Stream(ctx, name); err != nil {
		return fmt.Errorf("stream %s: %v: run provisioning (scripts/sluice apply or Sluice.provision)", name, err)
	}
	return nil
}
