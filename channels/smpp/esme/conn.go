package esme

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
)

// maxSeq is the largest sequence_number: SMPP 3.4 §5.1.4 allows
// 0x00000001–0x7FFFFFFF.
const maxSeq = 0x7FFFFFFF

// seqCounter hands out sequence numbers, wrapping within 1..maxSeq.
type seqCounter struct{ n atomic.Uint32 }

func (s *seqCounter) next() uint32 {
	for {
		cur := s.n.Load()
		n := cur + 1
		if n > maxSeq {
			n = 1
		}
		if s.n.CompareAndSwap(cur, n) {
			return n
		}
	}
}

var (
	errDeadLink   = errors.New("no PDU from the SMSC in time")
	errPeerUnbind = errors.New("unbound by the SMSC")
	errUnbound    = errors.New("unbound")
)

// conn is one TCP (or TLS) connection and its bind. A reader goroutine
// reads PDUs, matches responses to requests by sequence_number (SMPP 3.4
// §5.1.4) and answers the SMSC's requests; writes are serialised by wmu.
type conn struct {
	nc   net.Conn
	cfg  *BindConfig
	seq  *seqCounter
	h    Handler
	log  *slog.Logger
	role string // "transceiver", "receiver", "transmitter"

	ctx    context.Context // handlers' context: ends with the connection
	cancel context.CancelFunc

	window     chan struct{} // one token per outstanding submit_sm
	delivering atomic.Int32  // deliver_sm handlers running
	refusing   atomic.Bool   // the last deliver_sm was refused for MaxDeliver
	wmu        sync.Mutex

	mu      sync.Mutex
	pending map[uint32]chan pdu.PDU
	busy    int           // handlers and submits in flight
	idle    chan struct{} // closed when busy drops to zero
	bound   bool

	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	readDone  chan struct{}
}

func newConn(nc net.Conn, cfg *BindConfig, seq *seqCounter, h Handler, log *slog.Logger, role string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		nc: nc, cfg: cfg, seq: seq, h: h, log: log, role: role,
		ctx: ctx, cancel: cancel,
		window:   make(chan struct{}, cfg.Window),
		pending:  make(map[uint32]chan pdu.PDU),
		done:     make(chan struct{}),
		readDone: make(chan struct{}),
	}
}

// close ends the connection once; the first cause is kept. Requests waiting
// for a response see done and fail with ErrLinkLost.
func (c *conn) close(err error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closeErr = err
		c.bound = false
		c.mu.Unlock()
		close(c.done)
		c.cancel()
		c.nc.Close()
	})
}

func (c *conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

func (c *conn) isBound() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bound
}

func (c *conn) setBound(b bool) {
	c.mu.Lock()
	c.bound = b
	c.mu.Unlock()
}

func (c *conn) begin() {
	c.mu.Lock()
	c.busy++
	c.mu.Unlock()
}

func (c *conn) end() {
	c.mu.Lock()
	c.busy--
	if c.busy == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
	c.mu.Unlock()
}

// waitIdle waits until no handler or submit is in flight, or ctx ends.
func (c *conn) waitIdle(ctx context.Context) {
	c.mu.Lock()
	if c.busy == 0 {
		c.mu.Unlock()
		return
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// send writes one PDU. A write error ends the connection.
func (c *conn) send(p pdu.PDU) error {
	b, err := pdu.Marshal(p)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.done:
		return ErrLinkLost
	default:
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.cfg.RespTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.close(fmt.Errorf("write %v: %w", p.CommandID(), err))
		return ErrLinkLost
	}
	return nil
}

// request sends p with a fresh sequence_number and waits for the response
// with the same sequence_number (SMPP 3.4 §5.1.4). With windowed set it
// first takes a window slot. The error is an *Error.
func (c *conn) request(ctx context.Context, p pdu.PDU, windowed bool) (pdu.PDU, error) {
	op := p.CommandID().String()
	fail := func(err error) (pdu.PDU, error) { return nil, &Error{Op: op, Err: err} }
	if windowed {
		select {
		case c.window <- struct{}{}:
			defer func() { <-c.window }()
		case <-c.done:
			return fail(ErrLinkLost)
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	seq := c.seq.next()
	p.Hdr().Sequence = seq
	ch := make(chan pdu.PDU, 1)
	c.mu.Lock()
	c.pending[seq] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, seq)
		c.mu.Unlock()
	}()
	if err := c.send(p); err != nil {
		if errors.Is(err, ErrLinkLost) {
			return fail(ErrLinkLost)
		}
		return fail(err)
	}
	t := time.NewTimer(c.cfg.RespTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-c.done:
		select { // a response that raced the close still counts
		case r := <-ch:
			return r, nil
		default:
		}
		return fail(ErrLinkLost)
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-t.C:
		return fail(ErrTimeout)
	}
}

// readLoop reads until the connection ends. The read deadline is the dead
// link detector: any PDU from the SMSC proves the link alive.
func (c *conn) readLoop() {
	defer close(c.readDone)
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.cfg.DeadAfter))
		raw, err := pdu.ReadPDU(c.nc, 0)
		if err != nil {
			var pe *pdu.Error
			var ne net.Error
			switch {
			case errors.As(err, &pe):
				// A bad command_length leaves the stream out of
				// step: nack it and drop the link (SMPP 3.4 §4.3).
				c.send(&pdu.GenericNack{Header: pdu.Header{Status: pe.Status, Sequence: pe.Sequence}})
				c.close(fmt.Errorf("read: %w", err))
			case errors.As(err, &ne) && ne.Timeout():
				c.close(errDeadLink)
			case errors.Is(err, io.EOF):
				c.close(errors.New("closed by the SMSC"))
			default:
				c.close(fmt.Errorf("read: %w", err))
			}
			return
		}
		p, err := pdu.Unmarshal(raw)
		if err != nil {
			c.reject(err)
			continue
		}
		c.dispatch(p)
	}
}

// reject answers a PDU that did not decode: generic_nack for an unknown
// command_id or bad length, else the request's own response carrying the
// status (SMPP 3.4 §4.3.1, §5.1.3). A malformed response is only logged;
// its request times out and the caller retries.
func (c *conn) reject(err error) {
	var pe *pdu.Error
	if !errors.As(err, &pe) {
		c.log.Warn("smpp undecodable pdu", "err", err)
		return
	}
	c.log.Warn("smpp invalid pdu", "command", pe.ID.String(), "sequence", pe.Sequence, "status", pe.Status.String(), "err", pe.Err)
	if pe.ID.IsResponse() {
		return
	}
	var resp pdu.PDU = &pdu.GenericNack{}
	if !errors.Is(err, pdu.ErrUnknownCommand) && !errors.Is(err, pdu.ErrCommandLength) {
		if r, ok := pdu.New(pe.ID.Response()); ok {
			resp = r
		}
	}
	*resp.Hdr() = pdu.Header{Status: pe.Status, Sequence: pe.Sequence}
	c.send(resp)
}

func (c *conn) dispatch(p pdu.PDU) {
	h := p.Hdr()
	if p.CommandID().IsResponse() {
		c.mu.Lock()
		ch, ok := c.pending[h.Sequence]
		delete(c.pending, h.Sequence)
		c.mu.Unlock()
		if !ok {
			c.log.Warn("smpp response for unknown sequence dropped", "command", p.CommandID().String(), "sequence", h.Sequence, "status", h.Status.String())
			return
		}
		ch <- p // buffered, and only one response takes it out of pending
		return
	}
	switch p := p.(type) {
	case *pdu.EnquireLink:
		c.send(&pdu.EnquireLinkResp{Header: pdu.Header{Sequence: h.Sequence}})
	case *pdu.Unbind:
		// SMPP 3.4 §4.2: answer, then the SMSC closes; so do we.
		c.send(&pdu.UnbindResp{Header: pdu.Header{Sequence: h.Sequence}})
		c.close(errPeerUnbind)
	case *pdu.DeliverSM:
		c.deliver(p, h.Sequence, func(st pdu.Status) pdu.PDU {
			return &pdu.DeliverSMResp{Header: pdu.Header{Status: st, Sequence: h.Sequence}}
		})
	case *pdu.DataSM:
		d := &pdu.DeliverSM{
			Header: *h, ServiceType: p.ServiceType, Source: p.Source, Dest: p.Dest,
			ESMClass: p.ESMClass, RegisteredDelivery: p.RegisteredDelivery, DataCoding: p.DataCoding, TLVs: p.TLVs,
		}
		c.deliver(d, h.Sequence, func(st pdu.Status) pdu.PDU {
			return &pdu.DataSMResp{Header: pdu.Header{Status: st, Sequence: h.Sequence}}
		})
	case *pdu.Outbind, *pdu.AlertNotification:
		// No response exists for these (SMPP 3.4 §4.1.7, §4.12).
		c.log.Info("smpp pdu ignored", "command", p.CommandID().String())
	default:
		// A request an ESME never serves (submit_sm, bind, …).
		c.send(&pdu.GenericNack{Header: pdu.Header{Status: pdu.ESME_RINVCMDID, Sequence: h.Sequence}})
	}
}

// deliver runs the Handler in its own goroutine and sends exactly one
// response with the status it returns. Beyond MaxDeliver handlers at once
// it answers ESME_RX_T_APPN at once, and the SMSC delivers again later:
// blocking the read loop instead would also hold back the submit_sm_resp
// that handlers sending replies wait for.
func (c *conn) deliver(d *pdu.DeliverSM, seq uint32, resp func(pdu.Status) pdu.PDU) {
	if c.delivering.Add(1) > int32(c.cfg.MaxDeliver) {
		c.delivering.Add(-1)
		if c.refusing.CompareAndSwap(false, true) { // once per burst, not once per PDU
			c.log.Warn("smpp deliver refused: too many in flight", "sequence", seq, "max_deliver", c.cfg.MaxDeliver)
		}
		c.send(resp(pdu.ESME_RX_T_APPN))
		return
	}
	c.refusing.Store(false)
	c.begin()
	go func() {
		defer c.end()
		defer c.delivering.Add(-1)
		st := c.callHandler(d)
		if err := c.send(resp(st)); err != nil {
			// The SMSC never saw a response, so it redelivers.
			c.log.Warn("smpp deliver response not sent", "sequence", seq, "status", st.String(), "err", err)
		}
	}()
}

func (c *conn) callHandler(d *pdu.DeliverSM) (st pdu.Status) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("smpp deliver handler panicked", "sequence", d.Sequence, "panic", fmt.Sprint(r))
			st = pdu.ESME_RX_T_APPN
		}
	}()
	return c.h.HandleDeliver(c.ctx, c.cfg.Name, d)
}

// keepAlive sends enquire_link every EnquireLink (SMPP 3.4 §4.11); one
// left unanswered for RespTimeout ends the connection.
func (c *conn) keepAlive() {
	t := time.NewTicker(c.cfg.EnquireLink)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			_, err := c.request(c.ctx, &pdu.EnquireLink{}, false)
			if errors.Is(err, ErrTimeout) {
				c.close(errDeadLink)
				return
			}
		}
	}
}
