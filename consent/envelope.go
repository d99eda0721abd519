package consent

import (
	"encoding/json"
	"fmt"
)

// Envelope is what one queue entry carries: the commands of one recipient
// message or one provider batch, applied together.
type Envelope struct {
	Commands []Command `json:"commands"`
}

// EncodeEnvelope serialises commands for the queue.
func EncodeEnvelope(cmds ...Command) ([]byte, error) {
	return json.Marshal(Envelope{Commands: cmds})
}

// DecodeEnvelope reads a queue entry. An entry that cannot be read is
// poison: it will never apply, and belongs in the dead-letter stream.
func DecodeEnvelope(b []byte) ([]Command, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	for i, c := range e.Commands {
		if c.ID == "" {
			return nil, fmt.Errorf("decode envelope: command %d has no id", i)
		}
	}
	return e.Commands, nil
}
