package sluice

import (
	"encoding/json"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// Codec turns payloads of type T into bytes and back.
type Codec[T any] interface {
	// ContentType is the Content-Type header a producer writes.
	ContentType() string
	Encode(v T) ([]byte, error)
	Decode(b []byte) (T, error)
}

type jsonCodec[T any] struct{}

// JSON is the encoding/json codec ("application/json").
func JSON[T any]() Codec[T] { return jsonCodec[T]{} }

func (jsonCodec[T]) ContentType() string        { return "application/json" }
func (jsonCodec[T]) Encode(v T) ([]byte, error) { return json.Marshal(v) }
func (jsonCodec[T]) Decode(b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

type protoCodec[T proto.Message] struct{}

// DefaultContentType is the Content-Type a worker assumes when the header is absent (§3). The
// producer does not send it for a message of that type: 38 bytes fewer on every protobuf
// message, which every worker (Go, Java, Rust) reads as the same thing; the Java producer omits
// it likewise.
const DefaultContentType = "application/x-protobuf"

// Protobuf is the protobuf codec ("application/x-protobuf") for a generated message type,
// e.g. Protobuf[*orders.Order]().
func Protobuf[T proto.Message]() Codec[T] { return protoCodec[T]{} }

func (protoCodec[T]) ContentType() string { return DefaultContentType }
func (protoCodec[T]) Encode(v T) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(v)
}
func (protoCodec[T]) Decode(b []byte) (T, error) {
	var zero T
	v := zero.ProtoReflect().Type().New().Interface().(T)
	return v, proto.Unmarshal(b, v)
}

// Message is one work message to send. ID (the Nats-Msg-Id, up to 128 printable ASCII
// characters) makes a retried send idempotent: give the same ID to the same message.
type Message struct {
	ID          string
	Type        string
	Version     int
	ContentType string
	Data        []byte
	// Header holds extra headers; the Sluice headers (§3) are set by the producer.
	Header nats.Header
	// FairnessKey, when set, is sent as Sluice-Fairness-Key (§15.3): 1-64 characters of
	// [A-Za-z0-9_.:@-]. The Go producer grants waiting sends in arrival order and reports each
	// key's waiting sends and grants; weighted grant order inside one producer is the Java
	// producer's (a Go service usually sends one key per producer).
	FairnessKey string
}

// NewMessage encodes v with codec into a Message of the given id, type and schema version.
func NewMessage[T any](codec Codec[T], id, typ string, version int, v T) (Message, error) {
	b, err := codec.Encode(v)
	if err != nil {
		return Message{}, err
	}
	return Message{ID: id, Type: typ, Version: version, ContentType: codec.ContentType(), Data: b}, nil
}
