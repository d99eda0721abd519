package esme

import (
	"context"
	"crypto/tls"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
)

// Bind modes.
const (
	ModeTransceiver = "transceiver" // one bind_transceiver (SMPP 3.4 §4.1.5)
	ModeRxTx        = "rx+tx"       // bind_receiver + bind_transmitter, two connections
)

// BindConfig describes one bind to an SMSC. Zero durations and counts take
// the defaults given beside them.
type BindConfig struct {
	Name       string // for logs and the Handler; e.g. "op1"
	Addr       string // host:port
	SystemID   string // max 15 characters (SMPP 3.4 §5.2.1)
	Password   string // max 8 (SMPP 3.4 §5.2.2)
	SystemType string // max 12
	Mode       string // ModeTransceiver (default) or ModeRxTx
	TLS        *tls.Config

	EnquireLink time.Duration // keep-alive interval, default 30s
	DeadAfter   time.Duration // no PDU for this long: the link is dead; default 3×EnquireLink
	Window      int           // outstanding submit_sm, default 10
	// MaxDeliver bounds the deliver_sm (and data_sm) handled at once on
	// one connection, default 4096. An SMSC keeps to its own window, far
	// below; one that does not gets ESME_RX_T_APPN beyond it and delivers
	// again later, instead of one goroutine per PDU without end (at
	// 3,000 msg/s on a loaded host that passed 640 MiB).
	MaxDeliver  int
	RespTimeout time.Duration // wait for a response, default 10s

	ReconnectMin time.Duration // first reconnect delay, default 1s
	ReconnectMax time.Duration // reconnect delay cap, default 1m

	ThrottleRetries int           // resubmits after ESME_RTHROTTLED / ESME_RMSGQFUL, default 5
	ThrottleBackoff time.Duration // first wait before such a resubmit, doubling up to ReconnectMax; default 500ms

	// MaxTPS paces submit_sm to at most this many a second on the bind,
	// the throughput an SMSC operator licenses (beyond it an SMSC answers
	// ESME_RTHROTTLED or drops the bind). 0: unpaced.
	MaxTPS int
}

func (c BindConfig) withDefaults() BindConfig {
	if c.Mode == "" {
		c.Mode = ModeTransceiver
	}
	if c.EnquireLink <= 0 {
		c.EnquireLink = 30 * time.Second
	}
	if c.DeadAfter <= 0 {
		c.DeadAfter = 3 * c.EnquireLink
	}
	if c.Window <= 0 {
		c.Window = 10
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 4096
	}
	if c.RespTimeout <= 0 {
		c.RespTimeout = 10 * time.Second
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = time.Second
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = time.Minute
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.ThrottleRetries <= 0 {
		c.ThrottleRetries = 5
	}
	if c.ThrottleBackoff <= 0 {
		c.ThrottleBackoff = 500 * time.Millisecond
	}
	return c
}

// Handler receives mobile-originated messages and delivery receipts.
//
// HandleDeliver is called concurrently, once for each deliver_sm or data_sm
// received (a data_sm is given in deliver_sm form, its text in the
// message_payload TLV). The returned status goes back in the response:
// ESME_ROK only once the message is durable, ESME_RX_T_APPN to have the
// SMSC redeliver it later (SMPP 3.4 §5.1.3). ctx ends when the link does.
// A panic is contained and answered with ESME_RX_T_APPN.
type Handler interface {
	HandleDeliver(ctx context.Context, bind string, d *pdu.DeliverSM) pdu.Status
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, bind string, d *pdu.DeliverSM) pdu.Status

// HandleDeliver calls f.
func (f HandlerFunc) HandleDeliver(ctx context.Context, bind string, d *pdu.DeliverSM) pdu.Status {
	return f(ctx, bind, d)
}
